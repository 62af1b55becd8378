"""Single-table plumbing: key builders, the transaction helper, and the audit item every change writes."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from atende.models.common import utc_now
from atende.platform.retry import retry_contended

AUDIT_RETENTION_DAYS = 400


def tenant_pk(tenant_id: str) -> str:
    return f"TENANT#{tenant_id}"


def expires_at(days: int) -> int:
    """Epoch seconds for DynamoDB TTL."""
    return int(time.time()) + days * 86_400


def is_expired(item: dict[str, Any]) -> bool:
    """TTL deletion lags by up to days (and never happens locally): reads filter expired items themselves."""
    ttl = item.get("expires_at")
    return ttl is not None and int(ttl) <= time.time()


def conditional_failed(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


def transaction_cancel_reasons(error: ClientError) -> list[str]:
    """Codes of a cancelled transaction, one per item ('None' for the items that were fine)."""
    if error.response.get("Error", {}).get("Code") != "TransactionCanceledException":
        return []
    return [reason.get("Code", "None") for reason in error.response.get("CancellationReasons", [])]


@dataclass
class AuditEntry:
    """Who changed what: field names only, never values, so no secret can end up here."""

    tenant_id: str
    actor: str
    action: str
    target: str
    changed: list[str] = field(default_factory=list)

    def item(self) -> dict[str, Any]:
        now = utc_now()
        entry_id = uuid.uuid4().hex[:12]
        return {
            "PK": tenant_pk(self.tenant_id),
            "SK": f"AUDIT#{now}#{entry_id}",
            "type": "audit",
            "id": entry_id,
            "at": now,
            "actor": self.actor,
            "action": self.action,
            "target": self.target,
            "changed": sorted(self.changed),
            "expires_at": expires_at(AUDIT_RETENTION_DAYS),
        }


class TableStore:
    """Base of the stores: owns the table handle and the write-with-audit transaction."""

    def __init__(self, table: Any) -> None:
        self.table = table
        self.name = table.name

    def transact(
        self,
        operations: list[dict[str, Any]],
        audit: AuditEntry | None = None,
        *,
        on_condition_failed: Exception | None = None,
    ) -> None:
        """Write every operation and the audit entry atomically (the resource client marshals Python types);
        a conflict with another transaction or throttling is tried again inside the deadline (platform/retry.py).

        When a condition of the operations fails and `on_condition_failed` is given, that error is raised instead.
        """
        items = list(operations)
        if audit is not None:
            items.append({"Put": {"TableName": self.name, "Item": audit.item()}})
        try:
            retry_contended(lambda: self.table.meta.client.transact_write_items(TransactItems=items))
        except ClientError as error:
            if on_condition_failed is not None and "ConditionalCheckFailed" in transaction_cancel_reasons(error):
                raise on_condition_failed from error
            raise

    def query_all(self, **kwargs: Any) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        while True:
            page = self.table.query(**kwargs)
            items.extend(page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return items
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
