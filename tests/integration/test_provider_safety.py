"""Provider safety: a provider's error text never reaches callers; base_url only https to public addresses."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import replace

import pytest

from devtools.apigw import ApiGatewayEmulator
from devtools.containers import Containers
from devtools.fake_openai import FakeOpenAI
from tests.support import ApiClient, ChatSetup, TenantHandle, chat_setup, create_tenant

STORED_KEY = "sk-test-primary-0000"
ECHO = f"Incorrect API key provided: {STORED_KEY}. Your prompt was: ¿envíos?"


@pytest.fixture
def no_handoff(tenant: TenantHandle, upstream: FakeOpenAI) -> ChatSetup:
    """A bot that answers upstream failures with the error (not a handoff), so the error text can be read."""
    return chat_setup(tenant, upstream, handoff={"on_upstream_failure": False})


# Each status as often as it is tried (retryable ones three times), each answer echoing the stored key.
@pytest.mark.parametrize(
    ("status", "tries", "expected"), [(400, 1, 400), (403, 1, 502), (404, 1, 400), (429, 3, 429), (500, 3, 503)]
)
def test_provider_error_text_never_reaches_the_caller(
    no_handoff: ChatSetup, status: int, tries: int, expected: int
) -> None:
    for _ in range(tries):
        no_handoff.upstream.enqueue(
            status=status, body={"error": {"message": ECHO}}, headers={"retry-after": "0"} if status == 429 else {}
        )
    answer = no_handoff.chat({"message": "¿envíos?"})
    assert answer.status == expected, answer.text
    assert STORED_KEY not in answer.text and "Incorrect API key" not in answer.text and "envíos" not in answer.text
    assert str(status) in answer.error["message"] and "'openai'" in answer.error["message"]


def test_a_connection_failure_names_no_address(no_handoff: ChatSetup, upstream: FakeOpenAI) -> None:
    closed = {"api_key": STORED_KEY, "base_url": "http://127.0.0.1:9/v1"}  # port 9 (discard): nothing listens
    assert no_handoff.tenant.call("PUT", "/v1/credentials/openai", json_body=closed).status == 200
    answer = no_handoff.chat({"message": "¿envíos?"})
    assert answer.status == 503, answer.text
    assert "127.0.0.1" not in answer.text and "Connection" not in answer.text


def test_the_provider_text_is_logged_redacted(caplog: pytest.LogCaptureFixture) -> None:
    import httpx2
    import openai

    from atende.providers.credentials import ProviderCredential
    from atende.providers.upstream import Target, _log_refusal

    request = httpx2.Request("POST", "https://provider.example/v1/chat/completions")
    response = httpx2.Response(401, request=request, json={"error": {"message": ECHO}})
    error = openai.APIStatusError(ECHO, response=response, body={"error": {"message": ECHO}})
    credential = ProviderCredential("openai", STORED_KEY)
    with caplog.at_level(logging.WARNING):
        _log_refusal(error, Target("openai", "gpt-4o-mini"), credential)
    logged = " ".join(str(vars(r)) for r in caplog.records)
    assert "Incorrect API key provided" in logged and STORED_KEY not in logged


# --- base_url -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "base_url",
    [
        "http://169.254.169.254/latest",
        "https://169.254.169.254/v1",
        "https://10.0.0.8/v1",
        "https://192.168.1.1/v1",
        "https://172.16.0.1/v1",
        "https://100.64.0.1/v1",
        "https://0.0.0.0/v1",
        "https://224.0.0.1/v1",
        "https://240.0.0.1/v1",
        "https://[fd00::1]/v1",
        "https://[fe80::1]/v1",
        "https://[::ffff:10.0.0.1]/v1",
        "https://[::ffff:169.254.169.254]/v1",
        "https://[::]/v1",
        "https://localhost.invalid/v1",
        "http://203.0.113.10/v1",  # documentation range and plain http: refused for both reasons
        "https://8.8.8.8:99999/v1",
    ],
)
def test_a_base_url_that_is_not_https_to_a_public_address_is_refused(tenant: TenantHandle, base_url: str) -> None:
    answer = tenant.call("PUT", "/v1/credentials/openai", json_body={"api_key": STORED_KEY, "base_url": base_url})
    assert answer.status in (400, 422) and answer.error["param"] == "base_url", answer.text
    assert tenant.call("GET", "/v1/credentials/openai").status == 404, "nothing was stored"


def test_a_public_https_base_url_is_accepted_and_its_secrets_masked_in_reads(tenant: TenantHandle) -> None:
    base_url = "https://user:hunter22@8.8.8.8/openai/v1?api-version=2024-06-01&key=sk-hidden-1234"
    put = tenant.call("PUT", "/v1/credentials/azure", json_body={"api_key": STORED_KEY, "base_url": base_url})
    assert put.status == 200, put.text
    for read in (put, tenant.call("GET", "/v1/credentials/azure"), tenant.call("GET", "/v1/credentials")):
        assert "hunter22" not in read.text and "sk-hidden" not in read.text and "api-version" not in read.text
    shown = tenant.call("GET", "/v1/credentials/azure").json["base_url"]
    assert shown == "https://***@8.8.8.8/openai/v1?***"


@pytest.fixture(scope="module")
def aws_like_api(containers: Containers) -> Iterator[ApiClient]:
    """Functions without the local stack's loopback allowance, as on AWS."""
    runtime = replace(containers.runtime, overrides={**containers.runtime.overrides, "ALLOW_LOOPBACK_PROVIDERS": ""})
    own = Containers(runtime)
    yield ApiClient(ApiGatewayEmulator(own, stage="test"))
    own.close()


def test_loopback_is_refused_where_the_stack_does_not_run_locally(
    aws_like_api: ApiClient, root_key: str, upstream: FakeOpenAI
) -> None:
    tenant = create_tenant(aws_like_api, root_key)
    credential = {"api_key": STORED_KEY, "base_url": upstream.base_url}
    answer = tenant.call("PUT", "/v1/credentials/openai", json_body=credential)
    assert answer.status == 400 and answer.error["param"] == "base_url", answer.text


def test_loopback_stored_locally_is_refused_at_call_time_on_aws(
    setup: ChatSetup, aws_like_api: ApiClient, upstream: FakeOpenAI
) -> None:
    """A base_url accepted once (DNS answered a public address then) is checked again before every call."""
    upstream_calls = len(setup.chat_requests())
    answer = aws_like_api.call("POST", "/v1/bots/shop/chat", key=setup.key, json_body={"message": "¿envíos?"})
    assert answer.status == 200 and answer.json["handoff"] is True, answer.text  # on_upstream_failure: a handoff
    assert len(setup.chat_requests()) == upstream_calls, "neither the prompt nor the key was sent"
    plain = setup.tenant.call(
        "PATCH", "/v1/bots/shop", json_body={"version": 1, "handoff": {"on_upstream_failure": False}}
    )
    assert plain.status == 200, plain.text
    refused = aws_like_api.call("POST", "/v1/bots/shop/chat", key=setup.key, json_body={"message": "¿envíos?"})
    assert refused.status == 502 and refused.error["code"] == "base_url_not_allowed", refused.text
    assert len(setup.chat_requests()) == upstream_calls
