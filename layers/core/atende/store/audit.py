"""Audit trail reads (entries are written inside each change's own transaction, see table.AuditEntry)."""

from __future__ import annotations

from typing import Any

from boto3.dynamodb.conditions import Key

from atende.store.table import TableStore, is_expired, tenant_pk


class AuditStore(TableStore):
    def list(self, tenant_id: str, *, limit: int = 50, before: str | None = None) -> list[dict[str, Any]]:
        """Newest first; `before` is the `at` timestamp of the last entry of the previous page."""
        condition = Key("PK").eq(tenant_pk(tenant_id))
        condition &= Key("SK").between("AUDIT#", f"AUDIT#{before}") if before else Key("SK").begins_with("AUDIT#")
        page = self.table.query(KeyConditionExpression=condition, ScanIndexForward=False, Limit=limit)
        fields = ("id", "at", "actor", "action", "target", "changed")
        return [{f: item.get(f) for f in fields} for item in page.get("Items", []) if not is_expired(item)]
