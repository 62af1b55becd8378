"""Day reports of usage and the LIMITS item of each tenant (limits, holds, usage plan ids)."""

from __future__ import annotations

import json
import random
from typing import Any

from boto3.dynamodb.conditions import Key

from atende.models.common import utc_now
from atende.models.limits import Hold, LimitsSpec, OperatorLimitsSpec, TenantLimits
from atende.platform.retry import retry_contended
from atende.platform.settings import get_settings
from atende.store.table import AuditEntry, TableStore, tenant_pk
from atende.store.tenants import profile_touch, profile_update
from atende.store.usage_report import report_additions

LIMITS = "LIMITS"


def usage_key(tenant_id: str, period: str) -> dict[str, str]:
    """A day report's item ('yyyy-mm-dd#shard')."""
    return {"PK": tenant_pk(tenant_id), "SK": f"USAGE#{period}"}


class UsageStore(TableStore):
    """What a tenant used and may use, under its partition (the budget counters live in `counters`):

    - `USAGE#{yyyy-mm-dd}#{shard}` a day report shard: spend, tokens, requests, refusals, and the same per bot
      and per model (its format lives in `usage_report`); a usage read adds the shards up.
    - `LIMITS` the tenant admin's limits, the operator's caps and prices (JSON), holds, usage plan ids.
    """

    def report_key(self, tenant_id: str, day: str, shard: int) -> dict[str, str]:
        """One shard of a day report: a tenant's turns spread over the shards, as they do over its counters."""
        return usage_key(tenant_id, f"{day}#{shard}")

    def count(self, tenant_id: str, day: str, field: str, *, bot_id: str | None, model: str | None) -> None:
        """Add one to a day report's `field` (`requests` or `refused`) for the day, the bot and the model."""
        additions = report_additions({field: 1}, bot_id=bot_id, model=model)
        shard = random.randrange(get_settings().budget_counter_shards)  # noqa: S311 — load spreading
        # A settling transaction may hold the item, or it may be hot: tried again inside the deadline.
        retry_contended(lambda: self.table.update_item(Key=self.report_key(tenant_id, day, shard), **additions))

    # --- reads ---------------------------------------------------------------------------------
    def day_spent_of(self, tenant_ids: list[str], shards: int, day: str) -> dict[str, int]:
        """Many tenants' spend of one day, from their report shards, in batches."""
        spent: dict[str, int] = {}
        for shard in range(shards):
            for tenant_id, item in self._batch(tenant_ids, f"USAGE#{day}#{shard}").items():
                spent[tenant_id] = spent.get(tenant_id, 0) + int(item.get("spent", 0))
        return spent

    def limits_of(self, tenant_ids: list[str]) -> dict[str, TenantLimits]:
        """The LIMITS items that exist among `tenant_ids`."""
        return {tenant_id: _limits(item) for tenant_id, item in self._batch(tenant_ids, LIMITS).items()}

    def _batch(self, tenant_ids: list[str], sk: str) -> dict[str, dict[str, Any]]:
        """BatchGetItem of one sort key across tenants (100 keys a call), keyed by tenant id."""
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(tenant_ids), 100):
            keys = [{"PK": tenant_pk(t), "SK": sk} for t in tenant_ids[start : start + 100]]
            request: dict[str, Any] = {self.name: {"Keys": keys, "ConsistentRead": True}}
            while request:
                answer = self.table.meta.client.batch_get_item(RequestItems=request)
                for item in answer.get("Responses", {}).get(self.name, []):
                    found[str(item["PK"]).removeprefix("TENANT#")] = item
                request = answer.get("UnprocessedKeys") or {}
        return found

    def usage_items(self, tenant_id: str, period: str) -> list[dict[str, Any]]:
        """The month counter and day reports of a month ('yyyy-mm'), or the one day report ('yyyy-mm-dd')."""
        return self.query_all(
            KeyConditionExpression=Key("PK").eq(tenant_pk(tenant_id)) & Key("SK").begins_with(f"USAGE#{period}")
        )

    # --- the LIMITS item -----------------------------------------------------------------------
    def limits(self, tenant_id: str, *, consistent: bool = False) -> TenantLimits:
        item = self.table.get_item(Key={"PK": tenant_pk(tenant_id), "SK": LIMITS}, ConsistentRead=consistent)
        return _limits(item.get("Item") or {})

    def put_spec(self, tenant_id: str, field: str, spec: LimitsSpec, audit: AuditEntry) -> None:
        """Store the tenant's (`field="tenant"`) or the operator's limits; touch the profile so caches refresh."""
        now = utc_now()
        self.transact(
            [
                {
                    "Update": {
                        "TableName": self.name,
                        "Key": {"PK": tenant_pk(tenant_id), "SK": LIMITS},
                        "UpdateExpression": "SET #ty = :ty, #f = :spec, updated_at = :now ADD version :one",
                        "ExpressionAttributeNames": {"#ty": "type", "#f": f"{field}_limits"},
                        "ExpressionAttributeValues": {
                            ":ty": "limits",
                            ":spec": spec.model_dump_json(),
                            ":now": now,
                            ":one": 1,
                        },
                    }
                },
                profile_touch(self.name, tenant_id, now),
            ],
            audit,
        )

    def set_usage_plan(self, tenant_id: str, plan_id: str | None, key_id: str | None) -> None:
        self.table.update_item(
            Key={"PK": tenant_pk(tenant_id), "SK": LIMITS},
            UpdateExpression="SET usage_plan_id = :plan, usage_key_id = :key",
            ExpressionAttributeValues={":plan": plan_id, ":key": key_id},
        )

    def write_holds(
        self,
        tenant_id: str,
        holds: dict[str, Hold],
        *,
        expected_version: int,
        profile: dict[str, Any] | None,
        profile_seen: str,
        audit: AuditEntry,
    ) -> None:
        """Replace the holds and optionally the tenant's status, only if neither changed since they were read.

        Raises ClientError (TransactionCanceledException) on a lost race: read both again and retry.
        """
        now = utc_now()
        condition = "version = :v" if expected_version else "attribute_not_exists(version)"
        operations: list[dict[str, Any]] = [
            {
                "Update": {
                    "TableName": self.name,
                    "Key": {"PK": tenant_pk(tenant_id), "SK": LIMITS},
                    "UpdateExpression": "SET #ty = :ty, holds = :holds, updated_at = :now ADD version :one",
                    "ConditionExpression": condition,
                    "ExpressionAttributeNames": {"#ty": "type"},
                    "ExpressionAttributeValues": {
                        ":ty": "limits",
                        ":holds": json.dumps({cause: hold.as_dict() for cause, hold in holds.items()}),
                        ":now": now,
                        ":one": 1,
                        **({":v": expected_version} if expected_version else {}),
                    },
                }
            }
        ]
        operations.append(
            profile_update(self.name, tenant_id, {**(profile or {}), "updated_at": now}, seen=profile_seen)
        )
        self.transact(operations, audit if profile else None)


def _limits(item: dict[str, Any]) -> TenantLimits:
    holds = {cause: Hold(**value) for cause, value in json.loads(item.get("holds") or "{}").items()}
    return TenantLimits(
        tenant=LimitsSpec.model_validate_json(item.get("tenant_limits") or "{}"),
        operator=OperatorLimitsSpec.model_validate_json(item.get("operator_limits") or "{}"),
        holds=holds,
        usage_plan_id=item.get("usage_plan_id"),
        usage_key_id=item.get("usage_key_id"),
        version=int(item.get("version") or 0),
        updated_at=item.get("updated_at"),
    )
