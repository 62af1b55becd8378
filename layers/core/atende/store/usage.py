"""Usage counters, budget reservations and the LIMITS item of each tenant (limits, holds, usage plan ids)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from boto3.dynamodb.conditions import Key
from boto3.dynamodb.types import TypeDeserializer
from botocore.exceptions import ClientError

from atende.models.common import utc_now
from atende.models.limits import Hold, LimitsSpec, OperatorLimitsSpec, TenantLimits
from atende.store.table import AuditEntry, TableStore, conditional_failed, tenant_pk
from atende.store.tenants import profile_touch, profile_update
from atende.store.usage_report import report_additions

LIMITS = "LIMITS"


def usage_key(tenant_id: str, period: str) -> dict[str, str]:
    """The month counter ('yyyy-mm') or a day report ('yyyy-mm-dd')."""
    return {"PK": tenant_pk(tenant_id), "SK": f"USAGE#{period}"}


def reservation_attr(request_id: str) -> str:
    return f"r_{request_id}"


@dataclass(frozen=True)
class Caps:
    """The most each counter may hold before this reservation is added (None: unchecked).

    DynamoDB conditions cannot add, so the caller subtracts: `committed <= limit - amount`.
    """

    month_micros: int | None = None
    day_micros: int | None = None
    tokens: int | None = None
    requests: int | None = None


class Refused(Exception):
    """The counter's condition failed; `item` is the counter as it was (None when it did not exist)."""

    def __init__(self, item: dict[str, Any] | None) -> None:
        super().__init__("reservation refused")
        self.item = item or {}


_deserialize = TypeDeserializer()


def _int(item: dict[str, Any], name: str) -> int:
    return int(item.get(name) or 0)


class UsageStore(TableStore):
    """Counters and limits of a tenant, all under its partition:

    - `USAGE#{yyyy-mm}` the month counter, the one item a reservation touches: `committed` (spent + outstanding
      reservations, micro-dollars), `spent`, `committed_tokens`, `tokens`, `requests`, the day figures
      `dc_{dd}` / `ds_{dd}` (committed / spent that day) and one `r_{request_id}` map per outstanding reservation
      (amount, tokens, requests, day, expires_at). Keeping reservations inside the counter makes a reservation one
      conditional UpdateItem that returns the counter, a settlement one Update inside the turn's transaction,
      and lets a sweeper find expired reservations without a query.
    - `USAGE#{yyyy-mm-dd}` the day report: spend, tokens, requests, refusals, and the same per bot and per model
      (its format lives in `usage_report`).
    - `LIMITS` the tenant admin's limits, the operator's caps and prices (JSON), holds, usage plan ids.
    """

    # --- hot path ------------------------------------------------------------------------------
    def reserve(
        self,
        tenant_id: str,
        month: str,
        dd: str,
        request_id: str,
        *,
        amount: int,
        tokens: int,
        expires_at: int,
        caps: Caps,
        requests: int = 1,
    ) -> dict[str, Any]:
        """One conditional UpdateItem; returns the counter's committed and spent figures after it.

        `requests=0` holds budget for a call that is not a user request (a summary): the request quota ignores it.
        """
        names = {"#ty": "type", "#r": reservation_attr(request_id), "#dc": f"dc_{dd}", "#ds": f"ds_{dd}"}
        held = {"amount": amount, "tokens": tokens, "requests": requests, "day": dd, "expires_at": expires_at}
        values: dict[str, Any] = {":ty": "usage", ":resv": held, ":zero": 0}
        values.update({":amount": amount, ":tokens": tokens, ":requests": requests})
        clauses = ["attribute_not_exists(#r)"]  # a reused request id must not overwrite a live reservation
        for attr, room, placeholder in (
            ("committed", caps.month_micros, ":month_room"),
            ("#dc", caps.day_micros, ":day_room"),
            ("committed_tokens", caps.tokens, ":token_room"),
            ("requests", caps.requests, ":request_room"),
        ):
            if room is not None:
                clauses.append(f"(attribute_not_exists({attr}) OR {attr} <= {placeholder})")
                values[placeholder] = room
        try:
            answer = self.table.update_item(
                Key=usage_key(tenant_id, month),
                UpdateExpression=(
                    "SET #ty = :ty, #r = :resv, spent = if_not_exists(spent, :zero), #ds = if_not_exists(#ds, :zero) "
                    "ADD committed :amount, #dc :amount, committed_tokens :tokens, requests :requests"
                ),
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                ConditionExpression=" AND ".join(clauses),
                ReturnValues="UPDATED_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            if conditional_failed(error):  # the old item comes back in DynamoDB JSON: the resource skips errors
                old = error.response.get("Item") or {}
                raise Refused({name: _deserialize.deserialize(value) for name, value in old.items()}) from error
            raise
        attributes = answer.get("Attributes", {})
        return {
            "committed": _int(attributes, "committed"),
            "day_committed": _int(attributes, f"dc_{dd}"),
            "spent": _int(attributes, "spent"),
            "day_spent": _int(attributes, f"ds_{dd}"),
        }

    def settlement_operations(
        self,
        tenant_id: str,
        month: str,
        dd: str,
        request_id: str,
        *,
        reserved: int,
        reserved_tokens: int,
        cost: int,
        counts: dict[str, int],
        bot_id: str,
        model: str,
        price_version: str,
        requests: int = 1,
    ) -> list[dict[str, Any]]:
        """Two updates for the turn's own transaction: release the reservation into spend, add to the day report.

        Unconditional on purpose: a failed condition would cancel the messages written in the same
        transaction. A reservation is only swept long after the function that made it has timed out, so the
        attribute is always still there when its own turn settles.
        """
        used_tokens = counts["input_tokens"] + counts["output_tokens"]
        settle = {
            "Update": {
                "TableName": self.name,
                "Key": usage_key(tenant_id, month),
                "UpdateExpression": "REMOVE #r ADD committed :delta, #dc :delta, spent :cost, #ds :cost, "
                "committed_tokens :token_delta, tokens :tokens",
                "ExpressionAttributeNames": {"#r": reservation_attr(request_id), "#dc": f"dc_{dd}", "#ds": f"ds_{dd}"},
                "ExpressionAttributeValues": {
                    ":delta": cost - reserved,
                    ":cost": cost,
                    ":token_delta": used_tokens - reserved_tokens,
                    ":tokens": used_tokens,
                },
            }
        }
        figures = {"spent": cost, **counts, "requests": requests}
        additions = report_additions(figures, bot_id=bot_id, model=model, price_version=price_version)
        report = {"Update": {"TableName": self.name, "Key": usage_key(tenant_id, f"{month}-{dd}"), **additions}}
        return [settle, report]

    def release(
        self, tenant_id: str, month: str, dd: str, request_id: str, *, amount: int, tokens: int, requests: int = 1
    ) -> bool:
        """Give a reservation back (its call failed); False when it was already settled, released or swept."""
        try:
            self.table.update_item(
                Key=usage_key(tenant_id, month),
                UpdateExpression=(
                    "REMOVE #r ADD committed :amount, #dc :amount, committed_tokens :tokens, requests :requests"
                ),
                ConditionExpression="attribute_exists(#r)",
                ExpressionAttributeNames={"#r": reservation_attr(request_id), "#dc": f"dc_{dd}"},
                ExpressionAttributeValues={":amount": -amount, ":tokens": -tokens, ":requests": -requests},
            )
        except ClientError as error:
            if conditional_failed(error):
                return False
            raise
        return True

    def count(self, tenant_id: str, day: str, field: str, *, bot_id: str | None, model: str | None) -> None:
        """Add one to a day report's `field` (`requests` or `refused`) for the day, the bot and the model."""
        additions = report_additions({field: 1}, bot_id=bot_id, model=model)
        self.table.update_item(Key=usage_key(tenant_id, day), **additions)

    # --- sweeping and reads --------------------------------------------------------------------
    def month_counter(self, tenant_id: str, month: str) -> dict[str, Any]:
        item = self.table.get_item(Key=usage_key(tenant_id, month), ConsistentRead=True).get("Item")
        return dict(item or {})

    def month_counters(self, tenant_ids: list[str], month: str) -> dict[str, dict[str, Any]]:
        """Many tenants' month counters, keyed by tenant id."""
        return self._batch(tenant_ids, f"USAGE#{month}")

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

    def sweep(self, tenant_id: str, month: str, counter: dict[str, Any], now: float) -> int:
        """Remove the expired reservations of `counter` and give their amounts back; returns how many."""
        for _ in range(3):
            expired = {
                name: value
                for name, value in counter.items()
                if name.startswith("r_") and isinstance(value, dict) and int(value.get("expires_at", 0)) <= now
            }
            if not expired:
                return 0
            names: dict[str, str] = {}
            adds = {"committed": 0, "committed_tokens": 0, "requests": 0}
            for name, value in list(expired.items())[:50]:
                names[f"#r{len(names)}"] = name
                amount = int(value.get("amount", 0))
                adds["committed"] += amount
                adds["committed_tokens"] += int(value.get("tokens", 0))
                adds["requests"] += int(value.get("requests", 1))
                adds[f"dc_{value.get('day')}"] = adds.get(f"dc_{value.get('day')}", 0) + amount
            values: dict[str, Any] = {}
            add_parts = []
            for i, (attr, amount) in enumerate(adds.items()):
                names[f"#a{i}"] = attr
                values[f":a{i}"] = -amount
                add_parts.append(f"#a{i} :a{i}")
            removed = [ref for ref in names if ref.startswith("#r")]
            try:
                self.table.update_item(
                    Key=usage_key(tenant_id, month),
                    UpdateExpression=f"REMOVE {', '.join(removed)} ADD {', '.join(add_parts)}",
                    ConditionExpression=" AND ".join(f"attribute_exists({ref})" for ref in removed),
                    ExpressionAttributeNames=names,
                    ExpressionAttributeValues=values,
                )
                return len(removed)
            except ClientError as error:
                if not conditional_failed(error):
                    raise
                counter = self.month_counter(tenant_id, month)  # settled or swept meanwhile: look again
        return 0

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
