"""Keys listed and revoked through consistent reads of the table, never through a GSI that may lag behind."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from atende.access.keys import Caller, hash_key
from atende.admin.keys import issue_key
from atende.models.keys import KeyCreate, KeyInfo
from atende.platform.errors import NotFound
from atende.store import stores
from atende.store.table import AuditEntry
from tests.support import ApiClient, TenantHandle, create_tenant

Call = tuple[str, dict[str, Any]]


@pytest.fixture
def dynamodb_calls(tenant: TenantHandle) -> Iterator[list[Call]]:
    """Every DynamoDB call the store makes (operation name, parameters as sent) while the test runs."""
    calls: list[Call] = []

    def record(model: Any, params: dict[str, Any], **_: Any) -> None:
        body = params.get("body") or b"{}"
        calls.append((model.name, json.loads(body.decode() if isinstance(body, bytes) else body)))

    events = stores().keys.table.meta.client.meta.events
    events.register("before-call.dynamodb.*", record, unique_id="test-key-consistency")
    yield calls
    events.unregister("before-call.dynamodb.*", unique_id="test-key-consistency")


def _missing() -> KeyInfo:
    raise AssertionError("the key is not stored")


def _index_reads(calls: list[Call]) -> list[Call]:
    """Reads through an index: GSIs are eventually consistent, a fresh key may be missing from them."""
    return [(name, params) for name, params in calls if name in ("Query", "Scan") and params.get("IndexName")]


def test_a_key_created_a_moment_ago_can_be_revoked_at_once(tenant: TenantHandle, dynamodb_calls: list[Call]) -> None:
    created = tenant.call("POST", "/v1/keys", json_body={"label": "fresh", "scopes": ["chat"]})
    assert created.status == 201, created.text
    revoked = tenant.call("DELETE", f"/v1/keys/{created.json['id']}")
    assert revoked.status == 200, revoked.text
    assert revoked.json["revoked_at"]
    listed = {k["id"]: k for k in tenant.call("GET", "/v1/keys").json["data"]}
    assert listed[created.json["id"]]["revoked_at"] == revoked.json["revoked_at"]
    chat = tenant.api.call("GET", "/v1/models", key=created.json["key"])
    assert chat.status in (401, 403), "a revoked key is refused"
    assert not _index_reads(dynamodb_calls), _index_reads(dynamodb_calls)


def test_revoking_a_key_of_another_tenant_or_none_is_a_404(tenant: TenantHandle, other_tenant: TenantHandle) -> None:
    theirs = other_tenant.call("POST", "/v1/keys", json_body={"scopes": ["chat"]}).json["id"]
    assert tenant.call("DELETE", f"/v1/keys/{theirs}").status == 404
    assert tenant.call("DELETE", "/v1/keys/key_000000000000").status == 404
    assert other_tenant.call("GET", "/v1/keys").json["data"][-1]["revoked_at"] is None


def test_deleting_a_tenant_revokes_every_key_without_an_index_read(
    api: ApiClient, root_key: str, dynamodb_calls: list[Call]
) -> None:
    doomed = create_tenant(api, root_key)
    keys = [doomed.new_key(["chat"]) for _ in range(3)]
    deleted = api.call("DELETE", f"/v1/admin/tenants/{doomed.id}", key=root_key)
    assert deleted.status == 200, deleted.text
    assert deleted.json["keys_revoked"] == 4  # the three and the admin key
    for key in [*keys, doomed.admin_key]:
        assert (stores().keys.get_by_hash(hash_key(key)) or _missing()).revoked_at, "every key is revoked"
    assert not _index_reads(dynamodb_calls), _index_reads(dynamodb_calls)


def test_no_key_can_be_issued_once_a_tenant_is_buried(
    api: ApiClient, root_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A key issued while the deletion runs is found by its last revocation; none can land after the tombstone."""
    doomed = create_tenant(api, root_key)
    stores().tenants.bury(doomed.id, AuditEntry(doomed.id, "test", "tenant.delete", f"tenant/{doomed.id}"))
    monkeypatch.setattr(stores().tenants, "require", lambda tenant_id: None)  # past the handler's own check
    with pytest.raises(NotFound):
        issue_key(Caller(doomed.id, frozenset({"admin"}), "k", "k"), doomed.id, KeyCreate())
