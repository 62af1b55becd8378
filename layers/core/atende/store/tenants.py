"""Tenant profiles: create, read, list, update and status changes."""

from __future__ import annotations

from typing import Any

from boto3.dynamodb.conditions import Key

from atende.errors import Conflict, NotFound
from atende.models.common import utc_now
from atende.models.tenants import Tenant
from atende.store.table import AuditEntry, TableStore, tenant_pk

PROFILE = "PROFILE"
_FIELDS = ("name", "status", "status_reason", "status_since", "knowledge_base_max_chars", "retention_days")


class TenantStore(TableStore):
    def create(self, tenant: Tenant, audit: AuditEntry) -> Tenant:
        item = {
            "PK": tenant_pk(tenant.id),
            "SK": PROFILE,
            "type": "tenant",
            "GSI1PK": "TENANTS",
            "GSI1SK": tenant.id,
            **tenant.model_dump(),
        }
        self.transact(
            [{"Put": {"TableName": self.name, "Item": item, "ConditionExpression": "attribute_not_exists(PK)"}}],
            audit,
            on_condition_failed=Conflict(f"Tenant '{tenant.id}' already exists.", param="id", code="tenant_exists"),
        )
        return tenant

    def get(self, tenant_id: str, *, consistent: bool = False) -> Tenant | None:
        item = self.table.get_item(Key={"PK": tenant_pk(tenant_id), "SK": PROFILE}, ConsistentRead=consistent).get(
            "Item"
        )
        return _tenant(item) if item else None

    def require(self, tenant_id: str) -> Tenant:
        tenant = self.get(tenant_id, consistent=True)
        if tenant is None:
            raise NotFound(f"No tenant '{tenant_id}'.", param="tenant")
        return tenant

    def list(self) -> list[Tenant]:
        items = self.query_all(IndexName="GSI1", KeyConditionExpression=Key("GSI1PK").eq("TENANTS"))
        return [_tenant(item) for item in items]

    def update(self, tenant_id: str, changes: dict[str, Any], audit: AuditEntry) -> Tenant:
        """Set the given profile fields; the tenant must exist."""
        changes = {k: v for k, v in changes.items() if k in _FIELDS}
        changes["updated_at"] = utc_now()
        names = {f"#{k}": k for k in changes}
        values = {f":{k}": v for k, v in changes.items()}
        update = {
            "Update": {
                "TableName": self.name,
                "Key": {"PK": tenant_pk(tenant_id), "SK": PROFILE},
                "UpdateExpression": "SET " + ", ".join(f"#{k} = :{k}" for k in changes),
                "ConditionExpression": "attribute_exists(PK)",
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": values,
            }
        }
        self.transact([update], audit, on_condition_failed=NotFound(f"No tenant '{tenant_id}'.", param="tenant"))
        return self.require(tenant_id)

    def delete_profile(self, tenant_id: str, audit: AuditEntry) -> None:
        self.transact(
            [{"Delete": {"TableName": self.name, "Key": {"PK": tenant_pk(tenant_id), "SK": PROFILE}}}],
            audit,
        )

    def delete_items(self, tenant_id: str) -> int:
        """Remove every item under the tenant's partition (bots, usage, audit...); returns how many."""
        items = self.query_all(KeyConditionExpression=Key("PK").eq(tenant_pk(tenant_id)), ProjectionExpression="PK, SK")
        with self.table.batch_writer() as batch:
            for item in items:
                batch.delete_item(Key={"PK": item["PK"], "SK": item["SK"]})
        return len(items)


def _tenant(item: dict[str, Any]) -> Tenant:
    return Tenant.model_validate(
        {k: (int(v) if k in ("knowledge_base_max_chars", "retention_days") else v) for k, v in item.items()}
    )
