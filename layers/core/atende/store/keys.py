"""API keys: looked up by the SHA-256 of the key; listed and revoked through the tenant's own partition."""

from __future__ import annotations

from typing import Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from atende.models.common import utc_now
from atende.models.keys import KeyInfo
from atende.platform.errors import NotFound
from atende.store.table import AuditEntry, TableStore, tenant_pk, transaction_cancel_reasons


def _key(key_hash: str) -> dict[str, str]:
    return {"PK": f"KEY#{key_hash}", "SK": "KEY"}


def _ref(tenant_id: str, key_id: str) -> dict[str, str]:
    return {"PK": tenant_pk(tenant_id), "SK": f"KEY#{key_id}"}


class KeyStore(TableStore):
    """Each key is two items written in one transaction: `KEY#<hash>` (what the authorizer reads, by hash) and a
    reference `TENANT#<t> / KEY#<id>` holding the hash and a copy of the key's info.

    Listing and revoking read the reference with consistent Queries and GetItems on the table: a GSI lags, so a
    key created a moment ago could be missing from it, and "revoke the key I just created" or a tenant deletion
    would miss it.
    """

    def put(self, key_hash: str, info: KeyInfo, audit: AuditEntry | None) -> None:
        fields = info.model_dump(exclude_none=True)
        item = {**_key(key_hash), "type": "key", **fields}
        ref = {**_ref(info.tenant_id, info.id), "type": "key_ref", "key_hash": key_hash, **fields}
        # The tenant must be live when the key lands: a deletion revokes the keys it finds once the tombstone is
        # down, and this keeps a key from being issued after that.
        live = {
            "ConditionCheck": {
                "TableName": self.name,
                "Key": {"PK": tenant_pk(info.tenant_id), "SK": "PROFILE"},
                "ConditionExpression": "attribute_exists(PK) AND #status <> :deleted",
                "ExpressionAttributeNames": {"#status": "status"},
                "ExpressionAttributeValues": {":deleted": "deleted"},
            }
        }
        try:
            self.transact(
                [
                    {"Put": {"TableName": self.name, "Item": item, "ConditionExpression": "attribute_not_exists(PK)"}},
                    {"Put": {"TableName": self.name, "Item": ref, "ConditionExpression": "attribute_not_exists(PK)"}},
                    live,
                ],
                audit,
            )
        except ClientError as error:
            reasons = transaction_cancel_reasons(error)
            if reasons[2:3] == ["ConditionalCheckFailed"]:
                raise NotFound(f"No tenant '{info.tenant_id}'.", param="tenant") from error
            # A retried attempt whose first answer was lost finds its own key already stored: that is success.
            if "ConditionalCheckFailed" not in reasons or not self._is_ours(key_hash, info):
                raise

    def _is_ours(self, key_hash: str, info: KeyInfo) -> bool:
        stored = self.get_by_hash(key_hash)
        return stored is not None and stored.id == info.id and stored.tenant_id == info.tenant_id

    def get_by_hash(self, key_hash: str) -> KeyInfo | None:
        # Consistent: a revoked key must not come back from a stale replica once the authorizer asks again.
        item = self.table.get_item(Key=_key(key_hash), ConsistentRead=True).get("Item")
        return KeyInfo.model_validate(item) if item else None

    def _refs(self, tenant_id: str) -> list[dict[str, Any]]:
        return self.query_all(
            KeyConditionExpression=Key("PK").eq(tenant_pk(tenant_id)) & Key("SK").begins_with("KEY#"),
            ConsistentRead=True,
        )

    def standing(self, tenant_id: str, key_id: str) -> tuple[bool, str | None]:
        """Whether the key is live and its tenant's status (None: no tenant, or a tombstone), in one consistent
        BatchGetItem of the key's reference and the tenant's profile: what a write re-checks past the auth cache."""
        profile = {"PK": tenant_pk(tenant_id), "SK": "PROFILE"}
        request: dict[str, Any] = {
            self.name: {
                "Keys": [_ref(tenant_id, key_id), profile],
                "ConsistentRead": True,
                "ProjectionExpression": "PK, SK, revoked_at, #status",
                "ExpressionAttributeNames": {"#status": "status"},
            }
        }
        found: dict[str, dict[str, Any]] = {}
        while request:
            answer = self.table.meta.client.batch_get_item(RequestItems=request)
            found.update({str(item["SK"]): item for item in answer.get("Responses", {}).get(self.name, [])})
            request = answer.get("UnprocessedKeys") or {}
        ref = found.get(f"KEY#{key_id}")
        status = found.get("PROFILE", {}).get("status")
        live_status = None if status is None or status == "deleted" else str(status)
        return ref is not None and "revoked_at" not in ref, live_status

    def list(self, tenant_id: str) -> list[KeyInfo]:
        return sorted((KeyInfo.model_validate(ref) for ref in self._refs(tenant_id)), key=lambda k: k.created_at)

    def revoke(self, tenant_id: str, key_id: str, audit: AuditEntry) -> KeyInfo:
        ref = self.table.get_item(Key=_ref(tenant_id, key_id), ConsistentRead=True).get("Item")
        if ref is None:
            raise NotFound(f"No API key '{key_id}'.", param="key_id")
        key_hash = str(ref["key_hash"])
        self.transact(
            _revocation(self.name, tenant_id, key_id, key_hash, utc_now()),
            audit,
            on_condition_failed=NotFound(f"No API key '{key_id}'.", param="key_id"),
        )
        info = self.get_by_hash(key_hash)
        assert info is not None
        return info

    def revoke_all(self, tenant_id: str) -> int:
        """Revoke every key of a tenant (tenant deletion); returns how many were active."""
        now, count = utc_now(), 0
        for ref in self._refs(tenant_id):
            if ref.get("revoked_at") is None:
                self.transact(_revocation(self.name, tenant_id, str(ref["id"]), str(ref["key_hash"]), now))
                count += 1
        return count


def _revocation(table: str, tenant_id: str, key_id: str, key_hash: str, now: str) -> list[dict[str, Any]]:
    """The key and its reference marked revoked together (the first revocation's time is kept)."""
    update = "SET revoked_at = if_not_exists(revoked_at, :now)"
    values = {":now": now, ":tenant": tenant_id}
    return [
        {
            "Update": {
                "TableName": table,
                "Key": key,
                "UpdateExpression": update,
                "ConditionExpression": "tenant_id = :tenant",
                "ExpressionAttributeValues": values,
            }
        }
        for key in (_key(key_hash), _ref(tenant_id, key_id))
    ]
