"""API keys: looked up by the SHA-256 of the key; listed per tenant through GSI1."""

from __future__ import annotations

from typing import Any

from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import ClientError

from atende.models.common import utc_now
from atende.models.keys import KeyInfo
from atende.platform.errors import NotFound
from atende.platform.retry import retry_contended
from atende.store.table import AuditEntry, TableStore, conditional_failed, tenant_pk, transaction_cancel_reasons


def _key(key_hash: str) -> dict[str, str]:
    return {"PK": f"KEY#{key_hash}", "SK": "KEY"}


class KeyStore(TableStore):
    def put(self, key_hash: str, info: KeyInfo, audit: AuditEntry | None) -> None:
        item = {
            **_key(key_hash),
            "type": "key",
            "GSI1PK": tenant_pk(info.tenant_id),
            "GSI1SK": f"KEY#{info.id}",
            **info.model_dump(exclude_none=True),
        }
        try:
            self.transact(
                [{"Put": {"TableName": self.name, "Item": item, "ConditionExpression": "attribute_not_exists(PK)"}}],
                audit,
            )
        except ClientError as error:
            # A retried attempt whose first answer was lost finds its own key already stored: that is success.
            if "ConditionalCheckFailed" not in transaction_cancel_reasons(error) or not self._is_ours(key_hash, info):
                raise

    def _is_ours(self, key_hash: str, info: KeyInfo) -> bool:
        stored = self.get_by_hash(key_hash)
        return stored is not None and stored.id == info.id and stored.tenant_id == info.tenant_id

    def get_by_hash(self, key_hash: str) -> KeyInfo | None:
        # Consistent: a revoked key must not come back from a stale replica once the authorizer asks again.
        item = self.table.get_item(Key=_key(key_hash), ConsistentRead=True).get("Item")
        return KeyInfo.model_validate(item) if item else None

    def _items(self, tenant_id: str) -> list[dict[str, Any]]:
        return self.query_all(
            IndexName="GSI1",
            KeyConditionExpression=Key("GSI1PK").eq(tenant_pk(tenant_id)) & Key("GSI1SK").begins_with("KEY#"),
        )

    def list(self, tenant_id: str) -> list[KeyInfo]:
        return sorted((KeyInfo.model_validate(item) for item in self._items(tenant_id)), key=lambda k: k.created_at)

    def _hash_of(self, tenant_id: str, key_id: str) -> str:
        items = self.query_all(
            IndexName="GSI1",
            KeyConditionExpression=Key("GSI1PK").eq(tenant_pk(tenant_id)) & Key("GSI1SK").eq(f"KEY#{key_id}"),
        )
        if not items:
            raise NotFound(f"No API key '{key_id}'.", param="key_id")
        return str(items[0]["PK"]).removeprefix("KEY#")

    def revoke(self, tenant_id: str, key_id: str, audit: AuditEntry) -> KeyInfo:
        key_hash = self._hash_of(tenant_id, key_id)
        update = {
            "Update": {
                "TableName": self.name,
                "Key": _key(key_hash),
                "UpdateExpression": "SET revoked_at = if_not_exists(revoked_at, :now)",
                "ConditionExpression": "tenant_id = :tenant",
                "ExpressionAttributeValues": {":now": utc_now(), ":tenant": tenant_id},
            }
        }
        self.transact([update], audit, on_condition_failed=NotFound(f"No API key '{key_id}'.", param="key_id"))
        info = self.get_by_hash(key_hash)
        assert info is not None
        return info

    def revoke_all(self, tenant_id: str) -> int:
        """Revoke every key of a tenant (tenant deletion); returns how many were active."""
        now, count = utc_now(), 0
        for item in self._items(tenant_id):  # each item is the key's own (PK = KEY#hash): no lookup per key
            if item.get("revoked_at") is None:
                self._revoke_item({"PK": item["PK"], "SK": item["SK"]}, now)
                count += 1
        return count

    def _revoke_item(self, key: dict[str, Any], now: str) -> None:
        update = {
            "Key": key,
            "UpdateExpression": "SET revoked_at = :now",
            "ConditionExpression": Attr("revoked_at").not_exists(),
            "ExpressionAttributeValues": {":now": now},
        }
        try:
            retry_contended(lambda: self.table.update_item(**update))
        except ClientError as error:  # revoked meanwhile, or by this call's own first attempt (its answer lost)
            if not conditional_failed(error):
                raise
