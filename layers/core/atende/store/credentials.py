"""Which provider credentials a tenant has: one `CRED#<provider>` item each (the secrets stay in Secrets Manager)."""

from __future__ import annotations

from typing import Any

from boto3.dynamodb.conditions import Key

from atende.store.table import AuditEntry, TableStore, tenant_pk


def _key(tenant_id: str, provider: str) -> dict[str, str]:
    return {"PK": tenant_pk(tenant_id), "SK": f"CRED#{provider}"}


class CredentialStore(TableStore):
    """Listing secrets needs `secretsmanager:ListSecrets`, which IAM cannot narrow to a prefix: the names live here."""

    def record(self, tenant_id: str, provider: str, updated_at: str, audit: AuditEntry) -> None:
        item = {**_key(tenant_id, provider), "type": "credential", "provider": provider, "updated_at": updated_at}
        self.transact([{"Put": {"TableName": self.name, "Item": item}}], audit)

    def forget(self, tenant_id: str, provider: str, audit: AuditEntry | None) -> None:
        self.transact([{"Delete": {"TableName": self.name, "Key": _key(tenant_id, provider)}}], audit)

    def exists(self, tenant_id: str, provider: str) -> bool:
        return "Item" in self.table.get_item(Key=_key(tenant_id, provider), ConsistentRead=True)

    def providers(self, tenant_id: str) -> list[str]:
        """The tenant's providers with a stored credential, sorted (a consistent read: a PUT just made counts)."""
        items: list[dict[str, Any]] = self.query_all(
            KeyConditionExpression=Key("PK").eq(tenant_pk(tenant_id)) & Key("SK").begins_with("CRED#"),
            ConsistentRead=True,
            ProjectionExpression="provider",
        )
        return sorted(str(item["provider"]) for item in items)
