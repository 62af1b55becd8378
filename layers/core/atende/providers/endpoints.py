"""Where a provider credential may send prompts and keys: https to public addresses, checked after DNS resolution."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import SplitResult, urlsplit, urlunsplit

from atende.platform.settings import get_settings

type Address = ipaddress.IPv4Address | ipaddress.IPv6Address
NAT64 = ipaddress.ip_network("64:ff9b::/96")  # the well-known prefix: its last 32 bits are an IPv4 address


class EndpointRefused(ValueError):
    """A base_url that must not be called; the message says why, without the URL's secrets."""


def _embedded_ipv4(address: Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries (mapped, 6to4, Teredo, NAT64): it is where the packets end up."""
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped:
        return address.ipv4_mapped
    if address.sixtofour:
        return address.sixtofour
    if address.teredo:
        return address.teredo[1]
    if address in NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_public(address: Address) -> bool:
    """Globally routable unicast: not loopback, private, link-local (169.254.169.254), multicast, reserved,
    unspecified, shared (100.64/10), IPv6 ULA or link-local, nor an IPv6 form of one of those."""
    inner = _embedded_ipv4(address)
    if inner is not None and not is_public(inner):
        return False
    return address.is_global and not (
        address.is_multicast
        or address.is_reserved
        or address.is_loopback
        or address.is_link_local
        or address.is_private
        or address.is_unspecified
    )


def _is_loopback(address: Address) -> bool:
    inner = _embedded_ipv4(address)
    return address.is_loopback or (inner is not None and inner.is_loopback)


def resolve(host: str, port: int) -> list[Address]:
    """Every address `host` resolves to (an IP literal resolves to itself, without a lookup)."""
    try:
        return [ipaddress.ip_address(host.split("%")[0])]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise EndpointRefused(f"the host '{host}' does not resolve") from error
    # A scoped IPv6 address comes back as 'fe80::1%eth0'.
    return sorted({ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos}, key=str)


def check_base_url(url: str, *, allow_loopback: bool | None = None) -> None:
    """Refuse (EndpointRefused) a base_url that is not https to public addresses, after resolving its host.

    Every resolved address must be public: one private answer is enough for a request to land there. Loopback
    (http or https) is allowed only where the stack runs locally (ALLOW_LOOPBACK_PROVIDERS, never set on AWS).
    """
    allow = get_settings().allow_loopback_providers if allow_loopback is None else allow_loopback
    parts = urlsplit(url)
    host = parts.hostname
    if parts.scheme not in ("https", "http") or not host:
        raise EndpointRefused("it must be an https:// URL")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as error:
        raise EndpointRefused("its port is not a number from 0 to 65535") from error
    addresses = resolve(host, port)
    local = allow and all(_is_loopback(a) for a in addresses)
    if parts.scheme != "https" and not local:
        raise EndpointRefused("it must be an https:// URL")
    if local:
        return
    refused = next((a for a in addresses if not is_public(a)), None)
    if refused is not None:
        raise EndpointRefused(
            f"'{host}' resolves to {refused}, which is not a public address (loopback, private, link-local and "
            "metadata addresses are refused)"
        )


def masked_url(url: str | None) -> str | None:
    """A base_url as reads show it: user info and query string masked (they may carry credentials)."""
    if not url:
        return url
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        netloc = "***@" + netloc.rsplit("@", 1)[1]
    query = "***" if parts.query else ""
    return urlunsplit(SplitResult(parts.scheme, netloc, parts.path, query, ""))
