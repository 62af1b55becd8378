"""The chat routes authenticate in the chat function itself: one Lambda invocation per authorized turn."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from devtools.apigw import ApiGatewayEmulator
from devtools.containers import Containers
from tests.support import ApiClient, ChatSetup

FORGED = "atd_" + "x" * 43  # well formed, never issued


class CountingInvoker:
    """The containers, counting which function each invocation went to (the emulator's invocation log)."""

    def __init__(self, containers: Containers) -> None:
        self.containers, self.invocations = containers, Counter[str]()

    def invoke(self, name: str, event: Any, timeout: float = 29.0) -> Any:
        self.invocations[name] += 1
        return self.containers.invoke(name, event, timeout)


@pytest.fixture
def counted(containers: Containers) -> tuple[ApiClient, CountingInvoker]:
    invoker = CountingInvoker(containers)
    return ApiClient(ApiGatewayEmulator(invoker, stage="test")), invoker  # type: ignore[arg-type]


def test_an_authorized_turn_on_each_chat_route_is_one_invocation(
    setup: ChatSetup, counted: tuple[ApiClient, CountingInvoker]
) -> None:
    api, invoker = counted
    webhook = api.call("POST", "/v1/bots/shop/chat", key=setup.key, json_body={"message": "hola"})
    assert webhook.status == 200, webhook.text
    body = {"model": "bot:shop", "messages": [{"role": "user", "content": "hola"}]}
    completion = api.call("POST", "/v1/chat/completions", key=setup.key, json_body=body)
    assert completion.status == 200, completion.text
    assert api.call("GET", "/v1/models", key=setup.key).status == 200

    assert invoker.invocations == Counter({"chat": 3})  # no authorizer invocation


@pytest.mark.parametrize("key", [None, "not-a-key", FORGED])
def test_a_chat_request_without_a_valid_key_is_refused_401_in_openai_shape(
    setup: ChatSetup, counted: tuple[ApiClient, CountingInvoker], key: str | None
) -> None:
    api, invoker = counted
    answer = api.call("POST", "/v1/bots/shop/chat", key=key, json_body={"message": "hola"})

    assert answer.status == 401, answer.text
    assert answer.error["type"] == "authentication_error" and answer.error["code"] == "invalid_api_key"
    assert invoker.invocations == Counter({"chat": 1})
    assert setup.chat_requests() == []  # nothing reached the provider


def test_a_key_sent_as_x_api_key_or_query_param_works_where_it_is_allowed(setup: ChatSetup) -> None:
    query_key = setup.tenant.new_key(["chat"], allow_query_param=True)
    api = setup.tenant.api
    by_header = api.call("POST", "/v1/bots/shop/chat", headers={"x-api-key": setup.key}, json_body={"message": "a"})
    assert by_header.status == 200, by_header.text
    by_query = api.call("POST", "/v1/bots/shop/chat", query={"api_key": query_key}, json_body={"message": "b"})
    assert by_query.status == 200, by_query.text
    refused = api.call("POST", "/v1/bots/shop/chat", query={"api_key": setup.key}, json_body={"message": "c"})
    assert refused.status == 401, refused.text


def test_a_revoked_chat_key_is_refused_at_once_with_no_auth_cache(setup: ChatSetup) -> None:
    created = setup.tenant.call("POST", "/v1/keys", json_body={"label": "bot", "scopes": ["chat"]})
    key, key_id = created.json["key"], created.json["id"]
    api = setup.tenant.api
    assert api.call("POST", "/v1/bots/shop/chat", key=key, json_body={"message": "hola"}).status == 200
    assert setup.tenant.call("DELETE", f"/v1/keys/{key_id}").status == 200
    # The suite runs with AUTH_CACHE_TTL_SECONDS=0 (revocation immediate); in production it waits that TTL.
    assert api.call("POST", "/v1/bots/shop/chat", key=key, json_body={"message": "hola"}).status == 401


def test_the_root_key_is_refused_on_the_chat_routes(setup: ChatSetup, root_key: str) -> None:
    answer = setup.tenant.api.call("POST", "/v1/bots/shop/chat", key=root_key, json_body={"message": "hola"})
    assert answer.status in (401, 403), answer.text
