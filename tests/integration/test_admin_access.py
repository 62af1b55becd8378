"""Access past the auth cache: revoked keys and deleted tenants stop at once; the `conversations` scope; audits."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

from devtools.apigw import ApiGatewayEmulator
from devtools.containers import Containers
from devtools.fake_openai import FakeOpenAI
from tests.support import ApiClient, ChatSetup, TenantHandle, chat_setup, create_tenant


@pytest.fixture(scope="module")
def cached_api(containers: Containers) -> Iterator[ApiClient]:
    """Functions whose authorizer caches key lookups for 60 s, as deployed by default."""
    runtime = replace(containers.runtime, overrides={**containers.runtime.overrides, "AUTH_CACHE_TTL_SECONDS": "60"})
    own = Containers(runtime)
    yield ApiClient(ApiGatewayEmulator(own, stage="test"))
    own.close()


def _key_id(tenant: TenantHandle, key: str) -> str:
    return next(k["id"] for k in tenant.call("GET", "/v1/keys").json["data"] if k["prefix"] == key[:12])


def test_a_revoked_admin_key_cannot_mint_keys_or_write_while_its_lookup_is_cached(
    cached_api: ApiClient, root_key: str
) -> None:
    tenant = create_tenant(cached_api, root_key)
    other_admin = tenant.new_key(["admin"])
    assert tenant.call("GET", "/v1/bots").status == 200  # the authorizer now has the key cached
    revoked = tenant.call("DELETE", f"/v1/keys/{_key_id(tenant, tenant.admin_key)}", key=other_admin)
    assert revoked.status == 200, revoked.text

    minted = tenant.call("POST", "/v1/keys", json_body={"label": "escape", "scopes": ["admin"]})
    assert minted.status == 401 and minted.error["code"] == "key_revoked", minted.text
    writes = [
        ("POST", "/v1/bots", {"id": "late"}),
        ("PUT", "/v1/credentials/openai", {"api_key": "sk-late-0000000"}),
        ("PUT", "/v1/limits", {"monthly_budget_usd": "5"}),
        ("DELETE", f"/v1/keys/{_key_id(tenant, other_admin)}", None),
    ]
    for method, path, body in writes:
        answer = tenant.call(method, path, json_body=body)
        assert answer.status == 401, f"{method} {path}: {answer.status} {answer.text}"
    labels = [k["label"] for k in tenant.call("GET", "/v1/keys", key=other_admin).json["data"]]
    assert "escape" not in labels and len(labels) == 2
    assert tenant.call("GET", "/v1/bots/late", key=other_admin).status == 404


def test_a_deleted_tenants_cached_key_cannot_read_or_erase_conversations(
    cached_api: ApiClient, root_key: str, upstream: FakeOpenAI
) -> None:
    tenant = create_tenant(cached_api, root_key)
    setup = chat_setup(tenant, upstream)
    assert setup.chat({"message": "¿envíos?", "conversation_id": "c-5491100000000"}).status == 200
    path = "/v1/bots/shop/conversations/c-5491100000000"
    assert cached_api.call("GET", path, key=setup.key).status == 200  # cached by the authorizer

    assert cached_api.call("DELETE", f"/v1/admin/tenants/{tenant.id}", key=root_key).status == 200
    for method in ("GET", "DELETE"):
        answer = cached_api.call(method, path, key=setup.key)
        assert answer.status == 401 and answer.error["code"] == "tenant_deleted", answer.text


def test_chat_keys_keep_their_turns_but_cannot_read_or_erase_conversations(setup: ChatSetup) -> None:
    chat_only = setup.tenant.new_key(["chat"])
    turn = {"message": "¿envíos?", "conversation_id": "c-own"}
    assert setup.tenant.api.call("POST", "/v1/bots/shop/chat", key=chat_only, json_body=turn).status == 200
    again = {"message": "¿y devoluciones?", "conversation_id": "c-own"}
    assert setup.tenant.api.call("POST", "/v1/bots/shop/chat", key=chat_only, json_body=again).status == 200
    sent = setup.chat_requests()[-1].json["messages"]
    assert any(m["role"] == "user" and m["content"] == "¿envíos?" for m in sent), "history is still used"

    path = "/v1/bots/shop/conversations/c-own"
    for method in ("GET", "DELETE"):
        answer = setup.tenant.api.call(method, path, key=chat_only)
        assert answer.status == 403 and answer.error["code"] == "insufficient_scope", answer.text
        assert "conversations" in answer.error["message"]
    reader = setup.tenant.new_key(["conversations"])
    assert setup.tenant.api.call("GET", path, key=reader).json["count"] == 4
    assert setup.tenant.call("GET", path).status == 200, "admin keys imply the conversations scope"
    assert setup.tenant.api.call("DELETE", path, key=reader).status == 200
    assert setup.tenant.call("GET", path).status == 404


def test_a_credential_put_audits_what_changed_and_a_rotation_as_api_key(tenant: TenantHandle) -> None:
    first = {"api_key": "sk-first-secret-0001", "organization": "org-a"}
    for body in (first, first, {**first, "api_key": "sk-rotated-secret-0002"}, {"api_key": "sk-rotated-secret-0002"}):
        assert tenant.call("PUT", "/v1/credentials/openai", json_body=body).status == 200
    entries = [e for e in tenant.call("GET", "/v1/audit").json["data"] if e["action"] == "credential.put"]
    assert [e["changed"] for e in reversed(entries)] == [["api_key", "organization"], [], ["api_key"], ["organization"]]
    assert "secret-000" not in tenant.call("GET", "/v1/audit").text
