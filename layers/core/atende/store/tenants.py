"""Tenant profiles: create, read, list, update, status changes, and the tombstone a deleted tenant leaves."""

from __future__ import annotations

from typing import Any

from boto3.dynamodb.conditions import Key

from atende.models.common import utc_now
from atende.models.tenants import Tenant
from atende.platform.errors import Conflict, NotFound
from atende.store.table import AuditEntry, TableStore, tenant_pk

PROFILE = "PROFILE"
DELETED = "deleted"
_FIELDS = (
    "name",
    "status",
    "status_reason",
    "status_cause",
    "status_since",
    "knowledge_base_max_chars",
    "retention_days",
)
# A live profile: present and not a tombstone. `status` is always written, so `<>` alone would also do.
_LIVE = "attribute_exists(PK) AND (attribute_not_exists(#status) OR #status <> :deleted)"


def _profile_key(tenant_id: str) -> dict[str, str]:
    return {"PK": tenant_pk(tenant_id), "SK": PROFILE}


def profile_update(table: str, tenant_id: str, changes: dict[str, Any], *, seen: str) -> dict[str, Any]:
    """A transaction item setting `changes` on the profile, only if nobody changed it since `seen` (updated_at)."""
    return {
        "Update": {
            "TableName": table,
            "Key": _profile_key(tenant_id),
            "UpdateExpression": "SET " + ", ".join(f"#{k} = :{k}" for k in changes),
            "ConditionExpression": "updated_at = :seen",
            "ExpressionAttributeNames": {f"#{k}": k for k in changes},
            "ExpressionAttributeValues": {**{f":{k}": v for k, v in changes.items()}, ":seen": seen},
        }
    }


def profile_touch(table: str, tenant_id: str, now: str) -> dict[str, Any]:
    """A transaction item moving the profile's updated_at, so containers re-read what hangs off the tenant."""
    return {
        "Update": {
            "TableName": table,
            "Key": _profile_key(tenant_id),
            "UpdateExpression": "SET updated_at = :now",
            "ConditionExpression": "attribute_exists(PK)",
            "ExpressionAttributeValues": {":now": now},
        }
    }


class TenantStore(TableStore):
    """A deleted tenant's PROFILE item stays as a tombstone (`status: "deleted"`, `deleted_at`, no GSI1 keys).

    Its conversations live in partitions only their ids name, and only TTL removes them: a new tenant with the
    same id would read them. The tombstone keeps the id taken for good; `get`, `require` and `list` never return
    it, so every reader sees no tenant.
    """

    def create(self, tenant: Tenant, audit: AuditEntry) -> Tenant:
        item = {
            **_profile_key(tenant.id),
            "type": "tenant",
            "GSI1PK": "TENANTS",
            "GSI1SK": tenant.id,
            **tenant.model_dump(),
        }
        try:
            self.transact(
                [{"Put": {"TableName": self.name, "Item": item, "ConditionExpression": "attribute_not_exists(PK)"}}],
                audit,
                on_condition_failed=Conflict(f"Tenant '{tenant.id}' already exists.", param="id", code="tenant_exists"),
            )
        except Conflict:
            if self.deleted_at(tenant.id) is not None:
                raise Conflict(
                    f"Tenant id '{tenant.id}' belonged to a deleted tenant and cannot be reused "
                    "(its conversations may still be expiring). Choose another id.",
                    param="id",
                    code="tenant_id_retired",
                ) from None
            raise
        return tenant

    def get(self, tenant_id: str, *, consistent: bool = False) -> Tenant | None:
        """The live tenant, or None when there is none or it was deleted."""
        item = self._profile(tenant_id, consistent=consistent)
        return _tenant(item) if item and not _is_tombstone(item) else None

    def deleted_at(self, tenant_id: str) -> str | None:
        """When the tenant with this id was deleted; None if it never was (or still lives)."""
        item = self._profile(tenant_id, consistent=True)
        if item is None or not _is_tombstone(item):
            return None
        return str(item.get("deleted_at") or "unknown")

    def require(self, tenant_id: str) -> Tenant:
        tenant = self.get(tenant_id, consistent=True)
        if tenant is None:
            raise NotFound(f"No tenant '{tenant_id}'.", param="tenant")
        return tenant

    def list(self) -> list[Tenant]:
        items = self.query_all(IndexName="GSI1", KeyConditionExpression=Key("GSI1PK").eq("TENANTS"))
        return [_tenant(item) for item in items if not _is_tombstone(item)]

    def update(self, tenant_id: str, changes: dict[str, Any], audit: AuditEntry) -> Tenant:
        """Set the given profile fields; the tenant must exist and not be deleted."""
        changes = {k: v for k, v in changes.items() if k in _FIELDS}
        changes["updated_at"] = utc_now()
        update = {
            "Update": {
                "TableName": self.name,
                "Key": _profile_key(tenant_id),
                "UpdateExpression": "SET " + ", ".join(f"#{k} = :{k}" for k in changes),
                "ConditionExpression": _LIVE,
                "ExpressionAttributeNames": {"#status": "status", **{f"#{k}": k for k in changes}},
                "ExpressionAttributeValues": {":deleted": DELETED, **{f":{k}": v for k, v in changes.items()}},
            }
        }
        self.transact([update], audit, on_condition_failed=NotFound(f"No tenant '{tenant_id}'.", param="tenant"))
        return self.require(tenant_id)

    def bury(self, tenant_id: str, audit: AuditEntry) -> str:
        """Replace the live profile by the tombstone (dropping it from the GSI1 listing); returns `deleted_at`."""
        now = utc_now()
        tombstone = {**_profile_key(tenant_id), "type": "tenant", "id": tenant_id, "status": DELETED, "deleted_at": now}
        put = {
            "Put": {
                "TableName": self.name,
                "Item": tombstone,
                "ConditionExpression": _LIVE,
                "ExpressionAttributeNames": {"#status": "status"},
                "ExpressionAttributeValues": {":deleted": DELETED},
            }
        }
        self.transact([put], audit, on_condition_failed=NotFound(f"No tenant '{tenant_id}'.", param="tenant"))
        return now

    def delete_items(self, tenant_id: str) -> int:
        """Remove every item under the tenant's partition (bots, usage, audit...); returns how many.

        The profile stays (it becomes the tombstone), and so do the key references (`KEY#<id>`): a deletion
        revokes keys again once the tombstone is down, by reading them, and a key issued meanwhile must be found.
        """
        items = self.query_all(KeyConditionExpression=Key("PK").eq(tenant_pk(tenant_id)), ProjectionExpression="PK, SK")
        items = [item for item in items if item["SK"] != PROFILE and not str(item["SK"]).startswith("KEY#")]
        with self.table.batch_writer() as batch:
            for item in items:
                batch.delete_item(Key={"PK": item["PK"], "SK": item["SK"]})
        return len(items)

    def _profile(self, tenant_id: str, *, consistent: bool) -> dict[str, Any] | None:
        item = self.table.get_item(Key=_profile_key(tenant_id), ConsistentRead=consistent).get("Item")
        return dict(item) if item else None


def _is_tombstone(item: dict[str, Any]) -> bool:
    return item.get("status") == DELETED


def _tenant(item: dict[str, Any]) -> Tenant:
    return Tenant.model_validate(
        {k: (int(v) if k in ("knowledge_base_max_chars", "retention_days") else v) for k, v in item.items()}
    )
