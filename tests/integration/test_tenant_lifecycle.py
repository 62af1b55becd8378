"""A tenant's whole life through the operator routes: a deleted tenant's id is retired, never handed out again."""

from __future__ import annotations

import uuid

import boto3
import pytest
from boto3.dynamodb.conditions import Key

from atende.platform.settings import get_settings
from atende.store import stores
from devtools.fake_openai import FakeOpenAI
from tests.support import ApiClient, TenantHandle, create_tenant


def _conversation_items(tenant_id: str, bot_id: str, conversation_id: str) -> list[dict]:
    table = boto3.resource("dynamodb").Table(get_settings().table_name)
    return list(
        table.query(KeyConditionExpression=Key("PK").eq(f"CONV#{tenant_id}#{bot_id}#{conversation_id}"))["Items"]
    )


@pytest.fixture
def talked(api: ApiClient, root_key: str, upstream: FakeOpenAI) -> TenantHandle:
    """A tenant with a bot and one stored conversation ('c-1' with bot 'shop')."""
    tenant = create_tenant(api, root_key)
    credential = {"api_key": "sk-test-lifecycle-0000", "base_url": upstream.base_url}
    assert tenant.call("PUT", "/v1/credentials/openai", json_body=credential).status == 200
    assert tenant.call("POST", "/v1/bots", json_body={"id": "shop", "rules": "Be kind."}).status == 201
    turn = {"message": "my address is 5 Elm St", "conversation_id": "c-1"}
    chat = api.call("POST", "/v1/bots/shop/chat", key=tenant.new_key(["chat"]), json_body=turn)
    assert chat.status == 200, chat.text
    assert len(_conversation_items(tenant.id, "shop", "c-1")) == 2
    return tenant


def test_a_deleted_tenants_id_cannot_be_reused_while_its_conversations_remain(
    api: ApiClient, root_key: str, talked: TenantHandle
) -> None:
    deleted = api.call("DELETE", f"/v1/admin/tenants/{talked.id}", key=root_key)
    assert deleted.status == 200, deleted.text
    assert deleted.json["deleted"] is True and deleted.json["keys_revoked"] == 2
    # The reason for the tombstone: conversations only expire through TTL, in partitions no delete can list.
    assert len(_conversation_items(talked.id, "shop", "c-1")) == 2

    again = api.call("POST", "/v1/admin/tenants", key=root_key, json_body={"id": talked.id, "name": "Newcomer"})
    assert again.status == 409, again.text
    assert again.error["param"] == "id" and again.error["code"] == "tenant_id_retired"
    assert "deleted tenant" in again.error["message"] and "cannot be reused" in again.error["message"]
    assert stores().tenants.deleted_at(talked.id) == deleted.json["deleted_at"]


def test_a_deleted_tenant_is_gone_for_every_operator_route(api: ApiClient, root_key: str, tenant: TenantHandle) -> None:
    assert api.call("DELETE", f"/v1/admin/tenants/{tenant.id}", key=root_key).status == 200

    base = f"/v1/admin/tenants/{tenant.id}"
    assert api.call("GET", base, key=root_key).error["param"] == "tenant"
    assert tenant.id not in [t["id"] for t in api.call("GET", "/v1/admin/tenants", key=root_key).json["data"]]
    for method, path, body in (
        ("GET", base, None),
        ("PATCH", base, {"name": "Back"}),
        ("POST", f"{base}/suspend", {"reason": "x"}),
        ("POST", f"{base}/resume", None),
        ("POST", f"{base}/keys", {"scopes": ["admin"]}),
        ("GET", f"{base}/limits", None),
        ("PUT", f"{base}/limits", {}),
        ("DELETE", base, None),
    ):
        answer = api.call(method, path, key=root_key, json_body=body)
        assert answer.status == 404, f"{method} {path}: {answer.status} {answer.text}"
    # What the chat and limits functions read sees no tenant either (not a half-valid profile).
    assert stores().tenants.get(tenant.id) is None and stores().tenants.get(tenant.id, consistent=True) is None
    assert tenant.id not in [t.id for t in stores().tenants.list()]


def test_a_deleted_tenants_keys_stay_revoked(api: ApiClient, root_key: str, talked: TenantHandle) -> None:
    chat_key = talked.new_key(["chat"])
    assert api.call("DELETE", f"/v1/admin/tenants/{talked.id}", key=root_key).status == 200
    api.call("POST", "/v1/admin/tenants", key=root_key, json_body={"id": talked.id, "name": "Newcomer"})

    for key in (talked.admin_key, chat_key):
        assert api.call("GET", "/v1/bots", key=key).status == 401
        answer = api.call("GET", "/v1/bots/shop/conversations/c-1", key=key)
        assert answer.status == 401, answer.text
    assert all(k.revoked_at for k in stores().keys.list(talked.id))


def test_a_fresh_id_still_creates_a_tenant_after_a_delete(api: ApiClient, root_key: str, tenant: TenantHandle) -> None:
    assert api.call("DELETE", f"/v1/admin/tenants/{tenant.id}", key=root_key).status == 200
    fresh = f"t{uuid.uuid4().hex[:10]}"
    created = api.call("POST", "/v1/admin/tenants", key=root_key, json_body={"id": fresh, "name": "Fresh"})
    assert created.status == 201, created.text
    live = api.call("POST", "/v1/admin/tenants", key=root_key, json_body={"id": fresh, "name": "Twice"})
    assert live.status == 409 and live.error["code"] == "tenant_exists"
