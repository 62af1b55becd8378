"""Which provider addresses Atende calls: public unicast only, IPv6 forms of private IPv4 included; URL masking."""

from __future__ import annotations

import ipaddress

import pytest

from atende.providers.endpoints import EndpointRefused, check_base_url, is_public, masked_url


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.251",
        "239.255.255.250",
        "255.255.255.255",
        "::1",
        "::",
        "fd12:3456::1",
        "fe80::1",
        "ff02::1",
        "::ffff:127.0.0.1",
        "::ffff:169.254.169.254",
        "2002:a9fe:a9fe::1",  # 6to4 of 169.254.169.254
        "2001:0:4136:e378:8000:63bf:f5ff:fffe",  # Teredo whose client is 10.0.0.1
        "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
    ],
)
def test_addresses_that_are_not_public_are_refused(address: str) -> None:
    assert not is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111"])
def test_public_addresses_are_accepted(address: str) -> None:
    assert is_public(ipaddress.ip_address(address))


def test_loopback_only_with_the_local_allowance_and_never_other_private_ranges() -> None:
    check_base_url("http://127.0.0.1:8080/v1", allow_loopback=True)
    with pytest.raises(EndpointRefused):
        check_base_url("http://127.0.0.1:8080/v1", allow_loopback=False)
    with pytest.raises(EndpointRefused):
        check_base_url("https://10.0.0.1/v1", allow_loopback=True)
    with pytest.raises(EndpointRefused, match="https"):
        check_base_url("ftp://8.8.8.8/v1", allow_loopback=False)


def test_masked_url_hides_user_info_and_query() -> None:
    assert masked_url("https://u:p@host.example:8443/v1?key=s") == "https://***@host.example:8443/v1?***"
    assert masked_url("https://host.example/v1") == "https://host.example/v1"
    assert masked_url(None) is None


def test_every_address_a_host_resolves_to_must_be_public(monkeypatch: pytest.MonkeyPatch) -> None:
    """DNS answering one public and one metadata address is refused: a connection may land on either."""
    import socket

    answers = {"mixed.example": ["8.8.8.8", "169.254.169.254"], "public.example": ["8.8.8.8", "2606:4700::1111"]}

    def getaddrinfo(host: str, port: int, *args: object, **kwargs: object) -> list[tuple]:
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port)) for address in answers[host]]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    with pytest.raises(EndpointRefused, match=r"169\.254\.169\.254"):
        check_base_url("https://mixed.example/v1", allow_loopback=True)
    check_base_url("https://public.example/v1", allow_loopback=False)


def test_the_loopback_allowance_is_never_deployed() -> None:
    from pathlib import Path

    from atende.platform.settings import Settings

    assert Settings(table_name="t").allow_loopback_providers is False
    template = (Path(__file__).resolve().parents[2] / "template.yaml").read_text(encoding="utf-8")
    assert "ALLOW_LOOPBACK_PROVIDERS" not in template
