"""Issue 2's acceptance over real HTTP against the running local stack (what `make dev` starts)."""

from __future__ import annotations

import time

import pytest
import requests

from devtools.seed import DEFAULT_ADMIN_KEY, DEMO_BOT, DEMO_TENANT
from tests.e2e.conftest import LocalStack

pytestmark = pytest.mark.e2e


def _error(response: requests.Response) -> dict:
    """The OpenAI error envelope's inner object; fails if the answer is not one."""
    assert response.headers["Content-Type"].startswith("application/json"), response.headers
    body = response.json()
    assert set(body) == {"error"} and {"message", "type", "param", "code"} <= set(body["error"]), body
    return dict(body["error"])


def test_stack_prints_its_url_and_exactly_the_keys_it_was_given(local_stack: LocalStack) -> None:
    printed = local_stack.stdout
    assert local_stack.url in printed
    for key in (local_stack.root_key, local_stack.admin_key, local_stack.chat_key):
        assert key in printed
    refused = local_stack.request("GET", "/v1/bots", key=DEFAULT_ADMIN_KEY)
    assert refused.status_code == 401, "with ATENDE_* keys set, the documented defaults are not seeded"


def test_demo_admin_key_lists_the_demo_bot(local_stack: LocalStack) -> None:
    answer = local_stack.request("GET", "/v1/bots", key=local_stack.admin_key)
    assert answer.status_code == 200, answer.text
    bots = {bot["id"]: bot for bot in answer.json()["data"]}
    assert DEMO_BOT in bots
    demo = bots[DEMO_BOT]
    assert demo["rules"] and demo["knowledge_base"] and demo["prompts"], "the demo bot has a persona and a store"


def test_root_key_lists_tenants(local_stack: LocalStack) -> None:
    answer = local_stack.request("GET", "/v1/admin/tenants", key=local_stack.root_key)
    assert answer.status_code == 200, answer.text
    assert DEMO_TENANT in [tenant["id"] for tenant in answer.json()["data"]]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/bots"),
        ("GET", f"/v1/bots/{DEMO_BOT}"),
        ("POST", "/v1/keys"),
        ("GET", "/v1/keys"),
        ("GET", "/v1/credentials"),
        ("GET", "/v1/audit"),
        ("GET", "/v1/admin/tenants"),
    ],
)
def test_chat_scope_key_gets_403_on_config_routes(local_stack: LocalStack, method: str, path: str) -> None:
    answer = local_stack.request(method, path, key=local_stack.chat_key, json={} if method == "POST" else None)
    assert answer.status_code == 403, answer.text
    assert _error(answer)["type"] == "permission_error"


def test_missing_key_gets_401_envelope(local_stack: LocalStack) -> None:
    answer = local_stack.request("GET", "/v1/bots")
    assert answer.status_code == 401
    assert _error(answer)["type"] == "authentication_error"


def test_revoked_key_keeps_working_until_the_authorizer_cache_ttl_passes(local_stack: LocalStack) -> None:
    ttl = local_stack.auth_cache_ttl_seconds
    created = local_stack.request(
        "POST", "/v1/keys", key=local_stack.admin_key, json={"label": "e2e revocation", "scopes": ["admin"]}
    )
    assert created.status_code == 201, created.text
    key, key_id = created.json()["key"], created.json()["id"]

    # Given a key the authorizer has just looked up (and cached),
    primed_at = time.monotonic()
    assert local_stack.request("GET", "/v1/bots", key=key).status_code == 200
    # when it is revoked,
    revoked = local_stack.request("DELETE", f"/v1/keys/{key_id}", key=local_stack.admin_key)
    assert revoked.status_code == 200 and revoked.json()["revoked_at"], revoked.text
    # then it is still served from the cache while the TTL runs (checked only if we are inside it),
    still = local_stack.request("GET", "/v1/bots", key=key)
    if time.monotonic() - primed_at < ttl:
        assert still.status_code == 200, "a revoked key is served from the authorizer cache until its TTL passes"
    # and refused with 401 once the TTL has passed.
    deadline = primed_at + ttl + 15
    answer = still
    while answer.status_code != 401 and time.monotonic() < deadline:
        time.sleep(0.25)
        answer = local_stack.request("GET", "/v1/bots", key=key)
    assert answer.status_code == 401, f"still {answer.status_code} {ttl + 15:.0f} s after revocation"
    assert _error(answer)["type"] == "authentication_error"


def test_openapi_json_and_docs_are_served_without_a_key(local_stack: LocalStack) -> None:
    spec = local_stack.request("GET", "/openapi.json")
    assert spec.status_code == 200 and spec.headers["Content-Type"].startswith("application/json")
    document = spec.json()
    assert document["openapi"].startswith("3.") and "/v1/bots" in document["paths"]
    docs = local_stack.request("GET", "/docs")
    assert docs.status_code == 200 and docs.headers["Content-Type"].startswith("text/html")
    assert "swagger-ui" in docs.text and "openapi.json" in docs.text


@pytest.mark.parametrize(("method", "path"), [("GET", "/v1/nope"), ("GET", "/"), ("DELETE", "/v1/audit")])
def test_unknown_route_gets_a_404_envelope(local_stack: LocalStack, method: str, path: str) -> None:
    answer = local_stack.request(method, path, key=local_stack.admin_key)
    assert answer.status_code == 404, answer.text
    error = _error(answer)
    assert error["type"] == "invalid_request_error" and error["code"] == "unknown_url"
