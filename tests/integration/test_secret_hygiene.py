"""Secrets stay secret: after config CRUD, chat turns and provider failures, no key is where it must not be.

Scanned: every response body and header, every audit entry (through the API and in the table itself), and every
line the functions printed. API key clear texts may appear only in the one answer that created them.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from boto3.dynamodb.types import TypeDeserializer

from atende.platform.observability import logger
from devtools.apigw import ApiGatewayEmulator
from devtools.fake_openai import FakeOpenAI
from tests.support import Answer, ApiClient


@dataclass
class Exchange:
    method: str
    path: str
    answer: Answer


@dataclass
class RecordingClient(ApiClient):
    """An ApiClient that keeps every answer it got, and the API keys it was shown (once, at creation)."""

    def __init__(self, wsgi_app: Any) -> None:
        super().__init__(wsgi_app)
        self.exchanges: list[Exchange] = []
        self.api_keys: dict[str, str] = {}  # name -> clear text
        self.created_in: dict[str, int] = {}  # name -> index of the exchange that showed it

    def call(self, method: str, path: str, **kwargs: Any) -> Answer:
        answer = super().call(method, path, **kwargs)
        self.exchanges.append(Exchange(method, path, answer))
        return answer

    def remember(self, name: str, answer: Answer) -> str:
        assert answer.status == 201, answer.text
        self.api_keys[name], self.created_in[name] = answer.json["key"], len(self.exchanges) - 1
        return self.api_keys[name]


def _provider_key(label: str) -> str:
    return f"sk-proj-{label}-{secrets.token_hex(20)}"


def _table_items() -> list[dict[str, Any]]:
    client, deserializer = boto3.client("dynamodb"), TypeDeserializer()
    items: list[dict[str, Any]] = []
    for page in client.get_paginator("scan").paginate(TableName=os.environ["TABLE_NAME"]):
        items += [{k: deserializer.deserialize(v) for k, v in item.items()} for item in page["Items"]]
    return items


def _secret_document(tenant_id: str, stage: str) -> dict[str, Any]:
    name = f"{os.environ['CREDENTIALS_SECRET_PREFIX']}/{tenant_id}/openai"
    value = boto3.client("secretsmanager").get_secret_value(SecretId=name, VersionStage=stage)
    return dict(json.loads(value["SecretString"]))


def _leaks(text: str, needles: dict[str, str]) -> list[str]:
    """The names of the secrets found in `text`, also as JSON-escaped or half-length fragments."""
    found = []
    for name, secret in needles.items():
        core = secret[len(secret) // 4 : len(secret) // 4 + max(12, len(secret) // 2)]
        if secret in text or core in text or json.dumps(secret)[1:-1] in text:
            found.append(name)
    return found


class _CurrentStdout:
    """A stream that writes to whatever `sys.stdout` is at the time of writing."""

    def write(self, text: str) -> int:
        return sys.stdout.write(text)

    def flush(self) -> None:
        sys.stdout.flush()


@pytest.fixture
def printed(capfd: pytest.CaptureFixture[str]) -> Iterator[Callable[[], str]]:
    """Everything printed to stdout/stderr during the test (Powertools' Logger writes JSON lines to stdout).

    The Logger binds `sys.stdout` once, when first created: under pytest, that is whichever capture stream was
    current then, not this test's. For the test's duration its handler writes to the current `sys.stdout`, at
    DEBUG level (the template's LogLevel parameter allows it, so debug lines must be clean too).
    """
    handler, level = logger.registered_handler, logger.log_level
    assert isinstance(handler, logging.StreamHandler)
    previous = handler.setStream(_CurrentStdout())  # type: ignore[arg-type]
    logger.setLevel(logging.DEBUG)

    def read() -> str:
        out, err = capfd.readouterr()
        return out + err

    yield read
    logger.setLevel(level)
    handler.setStream(previous)


def test_no_secret_leaks_through_responses_audit_or_logs(
    emulator: ApiGatewayEmulator, root_key: str, printed: Callable[[], str], caplog: pytest.LogCaptureFixture
) -> None:
    api = RecordingClient(emulator)
    provider_keys = {"provider key": _provider_key("first"), "rotated provider key": _provider_key("rotated")}
    refused_provider_key = _provider_key("refused")
    remember, api_keys, created_in = api.remember, api.api_keys, api.created_in

    # --- the operator creates a tenant and its first admin key
    tenant = api.call("POST", "/v1/admin/tenants", key=root_key, json_body={"name": "Hygiene SA"}).json["id"]
    admin = remember("admin key", api.call("POST", f"/v1/admin/tenants/{tenant}/keys", key=root_key, json_body={}))
    assert api.call("GET", f"/v1/admin/tenants/{tenant}", key=root_key).status == 200
    assert api.call("GET", "/v1/admin/tenants", key=root_key).status == 200

    # --- bots
    bot = {"id": "hygiene", "rules": "Be brief.", "knowledge_base": "We open at nine.", "prompts": {"p": "x"}}
    assert api.call("POST", "/v1/bots", key=admin, json_body=bot).status == 201
    assert api.call("PATCH", "/v1/bots/hygiene", key=admin, json_body={"version": 1, "rules": "Be kind."}).status == 200
    replace = {k: v for k, v in bot.items() if k != "id"}
    assert api.call("PUT", "/v1/bots/hygiene", key=admin, json_body=replace, headers={"If-Match": '"2"'}).status == 200
    assert api.call("GET", "/v1/bots/hygiene", key=admin).status == 200
    assert api.call("GET", "/v1/bots", key=admin).status == 200

    # --- API keys: created (shown once), listed, used, revoked, refused
    chat = remember("chat key", api.call("POST", "/v1/keys", key=admin, json_body={"scopes": ["chat"]}))
    query = remember(
        "query key",
        api.call("POST", "/v1/keys", key=admin, json_body={"scopes": ["admin"], "allow_query_param": True}),
    )
    keys = api.call("GET", "/v1/keys", key=admin)
    assert keys.status == 200 and len(keys.json["data"]) == 3
    assert api.call("GET", "/v1/bots", key=chat).status == 403
    assert api.call("GET", "/v1/bots", query={"api_key": query}).status == 200
    chat_id = next(k["id"] for k in keys.json["data"] if k["prefix"] == chat[:12])
    assert api.call("DELETE", f"/v1/keys/{chat_id}", key=admin).status == 200
    assert api.call("GET", "/v1/bots", key=chat).status == 401, "revoked (the suite runs with no authorizer cache)"

    # --- provider credentials: written, rotated, refused when malformed, read back masked, listed
    first, rotated = provider_keys["provider key"], provider_keys["rotated provider key"]
    put = {"api_key": first, "base_url": "https://1.1.1.1/v1", "organization": "org-hygiene"}
    assert api.call("PUT", "/v1/credentials/openai", key=admin, json_body=put).status == 200
    assert api.call("PUT", "/v1/credentials/openai", key=admin, json_body={**put, "api_key": rotated}).status == 200
    for bad in (
        {"api_key": refused_provider_key, "unexpected": True},
        {"api_key": refused_provider_key + " with spaces"},
        {"api_key": refused_provider_key, "base_url": "ftp://nope"},
        {"api_key": refused_provider_key + "\u0000"},
        {"api_key": [refused_provider_key]},
    ):
        assert api.call("PUT", "/v1/credentials/openai", key=admin, json_body=bad).status == 400
    assert api.call("PUT", "/v1/credentials/openai", key=admin, data=refused_provider_key).status == 400
    read = api.call("GET", "/v1/credentials/openai", key=admin)
    assert read.status == 200 and read.json["api_key_mask"] == f"{rotated[:3]}…{rotated[-4:]}"
    assert api.call("GET", "/v1/credentials", key=admin).json["data"][0]["provider"] == "openai"

    # The credential really is in Secrets Manager, rotated, the previous value kept: this test is not vacuous.
    assert _secret_document(tenant, "AWSCURRENT")["api_key"] == rotated
    assert _secret_document(tenant, "AWSPREVIOUS")["api_key"] == first

    # --- audit, read through the API and straight from the table, before anything is deleted
    audit = api.call("GET", "/v1/audit", key=admin, query={"limit": "200"})
    assert audit.status == 200
    actions = [entry["action"] for entry in audit.json["data"]]
    assert actions.count("credential.put") == 2 and "key.create" in actions and "key.revoke" in actions, actions
    audit_items = [item for item in _table_items() if str(item.get("SK", "")).startswith("AUDIT#")]
    assert len(audit_items) >= len(actions)

    # --- deletes
    assert api.call("DELETE", "/v1/credentials/openai", key=admin).status == 200
    assert api.call("DELETE", "/v1/bots/hygiene", key=admin).status == 200
    assert api.call("DELETE", f"/v1/admin/tenants/{tenant}", key=root_key).status == 200
    assert api.call("GET", "/v1/bots", key=admin).status == 401, "deleting a tenant revokes its keys"

    # --- then: nothing leaked
    secret_values = {**provider_keys, "refused provider key": refused_provider_key, "root key": root_key}
    credential_changes = [set(item["changed"]) for item in audit_items if item["action"] == "credential.put"]
    assert credential_changes and all(c <= {"api_key", "base_url", "organization"} for c in credential_changes)
    _assert_nothing_leaked(api, created_in, secret_values, api_keys, audit_items, printed() + caplog.text)


def _assert_nothing_leaked(
    api: RecordingClient,
    created_in: dict[str, int],
    secret_values: dict[str, str],
    api_keys: dict[str, str],
    audit_items: list[dict[str, Any]],
    output: str,
) -> None:
    """No secret in any answer (but an API key in the one that created it), table item, audit entry or log line."""
    for index, exchange in enumerate(api.exchanges):
        allowed = {name for name, at in created_in.items() if at == index}
        needles = {**secret_values, **{n: k for n, k in api_keys.items() if n not in allowed}}
        seen = exchange.answer.text + json.dumps(exchange.answer.headers)
        leaked = _leaks(seen, needles)
        assert not leaked, f"{exchange.method} {exchange.path} answered with the {leaked}: {seen[:300]}"

    every_key = {**secret_values, **api_keys}
    for item in _table_items() + audit_items:
        assert not _leaks(json.dumps(item, default=str), every_key), f"a table item holds a secret: {item}"

    log_lines = [line for line in output.splitlines() if line.startswith("{") and '"level"' in line]
    assert any("key refused" in line for line in log_lines), "the functions' log lines were not captured"
    leaked = _leaks(output, every_key)
    assert not leaked, f"the logs hold the {leaked}"


def _openai_masked(key: str) -> str:
    """How OpenAI names a rejected key in its 401 message: the prefix, stars, the last four characters."""
    prefix = key[: key.index("-", 3) + 1] if key.count("-") >= 2 else key[:3]
    return prefix + "*" * (len(key) - len(prefix) - 4) + key[-4:]


def test_no_secret_leaks_through_chat_turns_provider_failures_or_moderation(
    emulator: ApiGatewayEmulator,
    root_key: str,
    upstream: FakeOpenAI,
    printed: Callable[[], str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Every library at INFO, the OpenAI SDK and its HTTP client at DEBUG. (botocore at DEBUG logs whole Secrets
    # Manager answers, root key included: the template leaves library loggers at Lambda's default level.)
    caplog.set_level(logging.INFO)
    for library in ("openai", "httpx", "httpcore"):
        caplog.set_level(logging.DEBUG, logger=library)
    api = RecordingClient(emulator)
    provider_key = _provider_key("chat")
    remember, api_keys, created_in = api.remember, api.api_keys, api.created_in

    tenant = api.call("POST", "/v1/admin/tenants", key=root_key, json_body={"name": "Hygiene Chat"}).json["id"]
    admin = remember("admin key", api.call("POST", f"/v1/admin/tenants/{tenant}/keys", key=root_key, json_body={}))
    chat = remember(
        "chat key", api.call("POST", "/v1/keys", key=admin, json_body={"scopes": ["chat", "moderate", "conversations"]})
    )

    # The upstream accepts only the tenant's key: every turn that answers proves the key reached it.
    upstream.set_api_key(provider_key)
    credential = {"api_key": provider_key, "base_url": upstream.base_url}
    assert api.call("PUT", "/v1/credentials/openai", key=admin, json_body=credential).status == 200
    bot = {
        "id": "hygiene",
        "rules": "Be brief.",
        "knowledge_base": "We open at nine.",
        "moderation": {"mode": "both"},
        "history": {"max_history_tokens": 60, "summarize": True},
    }
    assert api.call("POST", "/v1/bots", key=admin, json_body=bot).status == 201

    # --- turns that work: webhook (with raw and history), completions plain and streamed, idempotent retries
    webhook = "/v1/bots/hygiene/chat"
    turn = {"message": "When do you open?", "conversation_id": "c-1", "raw": True, "return_history": True}
    for _ in range(3):
        answer = api.call("POST", webhook, key=chat, json_body=turn)
        assert answer.status == 200 and not answer.json["handoff"], answer.text
    retried = {"message": "And on Sunday?", "conversation_id": "c-1"}
    for _ in range(2):
        assert api.call("POST", webhook, key=chat, json_body=retried, headers={"Idempotency-Key": "i-1"}).status == 200
    completion = {"model": "bot:hygiene", "messages": [{"role": "user", "content": "Hours?"}]}
    assert api.call("POST", "/v1/chat/completions", key=chat, json_body=completion).status == 200
    streamed = {**completion, "stream": True, "stream_options": {"include_usage": True}}
    assert api.call("POST", "/v1/chat/completions", key=chat, json_body=streamed).status == 200
    plain = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}]}
    assert api.call("POST", "/v1/chat/completions", key=chat, json_body=plain).status == 200
    assert api.call("GET", "/v1/bots/hygiene/conversations/c-1", key=chat).status == 200

    # --- moderation, both forms, and redaction
    assert api.call("POST", "/v1/moderations", key=chat, json_body={"input": "I will hurt you"}).status == 200
    assert api.call("POST", "/v1/moderate", key=chat, json_body={"input": ["hello", "I will hurt you"]}).status == 200
    assert api.call("POST", "/v1/redact", key=chat, json_body={"text": "mail me at ana@example.com"}).status == 200

    # --- the provider refuses the key: its generic 401, then OpenAI's own text, which names part of the key
    upstream.set_api_key("sk-other")
    refused = api.call("POST", webhook, key=chat, json_body={"message": "hi", "conversation_id": "c-401"})
    assert refused.status in (200, 502), refused.text
    assert api.call("POST", "/v1/chat/completions", key=chat, json_body=plain).status == 502
    upstream.set_api_key(provider_key)
    masked = _openai_masked(provider_key)
    openai_401 = {
        "error": {
            "message": f"Incorrect API key provided: {masked}. "
            "You can find your API key at https://platform.openai.com/account/api-keys.",
            "type": "invalid_request_error",
            "param": None,
            "code": "invalid_api_key",
        }
    }
    for path in ("/v1/chat/completions", "/v1/chat/completions", "/v1/moderations", "/v1/moderations"):
        upstream.enqueue(path=path, status=401, body=openai_401)  # twice: the key is read again once after a 401
    assert api.call("POST", "/v1/chat/completions", key=chat, json_body=plain).status == 502
    assert api.call("POST", "/v1/moderate", key=chat, json_body={"input": "hello"}).status >= 400

    # --- the provider fails on every attempt
    for _ in range(3):
        upstream.enqueue(status=500)
        upstream.enqueue(path="/v1/moderations", status=500)
    failed = api.call("POST", webhook, key=chat, json_body={"message": "hi", "conversation_id": "c-500"})
    assert failed.status in (200, 503), failed.text
    for _ in range(3):
        upstream.enqueue(status=500)
    assert api.call("POST", "/v1/chat/completions", key=chat, json_body=plain).status == 503
    assert any(r.headers.get("authorization") == f"Bearer {provider_key}" for r in upstream.requests)

    # --- audit through the API, then erase the conversation and revoke a key
    audit = api.call("GET", "/v1/audit", key=admin, query={"limit": "200"})
    assert audit.status == 200
    audit_items = [item for item in _table_items() if str(item.get("SK", "")).startswith("AUDIT#")]
    assert api.call("DELETE", "/v1/bots/hygiene/conversations/c-1", key=chat).status == 200
    assert api.call("GET", "/v1/bots", key="atd_" + "0" * 43).status == 401  # a refused key is logged

    assert any(r.name.startswith("openai") for r in caplog.records), "the OpenAI SDK's debug lines were not captured"
    secret_values = {"provider key": provider_key, "provider's 401 text": masked, "root key": root_key}
    _assert_nothing_leaked(api, created_in, secret_values, api_keys, audit_items, printed() + caplog.text)
