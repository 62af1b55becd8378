"""Budget counters and reservations: a few small counter shards per tenant and month, one item per reservation.

Items (each small and of constant size; see the README's "Billing data model" for the WCU arithmetic):

- `COUNTER#{tenant}#{k}` / `MONTH#{yyyy-mm}`, k < shards: `committed` (spent + held, micro-dollars), `spent`,
  `committed_tokens`, `tokens`, `requests`. Shard k may hold at most its share of each limit (the shares add up
  to the limit), so the shards together never pass it; a turn touches one shard, so a tenant's turns spread
  over `shards` items instead of queueing on one.
- `COUNTER#{tenant}#{k}` / `DAY#{yyyy-mm-dd}`: `committed` and `spent` of the day, only for tenants with a
  daily budget.
- `RESV#{tenant}#{request_id}` / `RESV`: a reservation: `status` held → settled | released, the parts it holds
  on each shard, and while held the sparse GSI1 keys (`HELD#{tenant}#{k}`, expiry) the sweep reads. Settling or
  releasing is conditional on `status = held`, so it happens at most once; a settled or released item stays as
  a tombstone for a day, so a late retry of the same reservation cannot hold it again.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from boto3.dynamodb.conditions import Key
from boto3.dynamodb.types import TypeDeserializer
from botocore.exceptions import ClientError

from atende.store.table import TableStore, transaction_cancel_reasons

TOMBSTONE_SECONDS = 24 * 3600
_deserialize = TypeDeserializer()


def month_key(tenant_id: str, shard: int, month: str) -> dict[str, str]:
    return {"PK": f"COUNTER#{tenant_id}#{shard}", "SK": f"MONTH#{month}"}


def day_key(tenant_id: str, shard: int, day: str) -> dict[str, str]:
    return {"PK": f"COUNTER#{tenant_id}#{shard}", "SK": f"DAY#{day}"}


def reservation_key(tenant_id: str, request_id: str) -> dict[str, str]:
    return {"PK": f"RESV#{tenant_id}#{request_id}", "SK": "RESV"}


@dataclass(frozen=True)
class Part:
    """What one reservation holds on one shard."""

    shard: int
    amount: int
    tokens: int
    requests: int

    def as_dict(self) -> dict[str, int]:
        return {"shard": self.shard, "amount": self.amount, "tokens": self.tokens, "requests": self.requests}


@dataclass(frozen=True)
class Caps:
    """The most a counter may hold before an amount is added (None: unchecked; negative: too big alone).

    DynamoDB conditions cannot add, so callers subtract: `committed <= limit - amount`."""

    month_micros: int | None = None
    day_micros: int | None = None
    tokens: int | None = None
    requests: int | None = None


@dataclass(frozen=True)
class Move:
    """Amounts added to one counter item by a rebalance (negative: taken off it), and for those it receives the
    most it may hold before (`caps`), so a move never fills a counter past its share."""

    key: dict[str, str]
    adds: dict[str, int]
    caps: dict[str, int]


class Refused(Exception):
    """A counter's condition failed (`counters`: the shards as they were), or the reservation exists already."""

    def __init__(self, counters: dict[int, dict[str, Any]], existing: dict[str, Any] | None = None) -> None:
        super().__init__("reservation refused")
        self.counters, self.existing = counters, existing


class Contended(Exception):
    """DynamoDB asked to try again: a transaction conflict or throttling on a hot item."""


RETRYABLE = {"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"}
RETRYABLE_CODES = {"TransactionConflictException", "ThrottlingException", "ProvisionedThroughputExceededException"}


def raise_if_contended(error: ClientError) -> None:
    reasons = set(transaction_cancel_reasons(error))
    if reasons & RETRYABLE or error.response.get("Error", {}).get("Code") in RETRYABLE_CODES:
        raise Contended(str(error)) from error


class CounterStore(TableStore):
    """Reservations and the counter shards they hold budget on (see the module docstring)."""

    def reserve(
        self,
        tenant_id: str,
        request_id: str,
        *,
        month: str,
        day: str,
        parts: list[Part],
        caps: dict[int, Caps],
        expires_at: int,
        token: str,
    ) -> dict[str, Any]:
        """Write the reservation and add its parts to their shards, in one transaction; returns the item written.

        Raises Refused (a shard has no room, or this request id was reserved before) or Contended.
        """
        shard = parts[0].shard
        item = {
            **reservation_key(tenant_id, request_id),
            "type": "reservation",
            "status": "held",
            "month": month,
            "day": day,
            "parts": json.dumps([p.as_dict() for p in parts]),
            "daily": any(caps[p.shard].day_micros is not None for p in parts),
            "GSI1PK": f"HELD#{tenant_id}#{shard}",
            "GSI1SK": f"{expires_at:012d}#{request_id}",
            "expires_at": expires_at + TOMBSTONE_SECONDS,
        }
        operations: list[dict[str, Any]] = [
            {"Put": {"TableName": self.name, "Item": item, "ConditionExpression": "attribute_not_exists(PK)"}}
        ]
        counted: list[int] = []
        for part in parts:
            operations.append(self._hold_month(tenant_id, month, part, caps[part.shard]))
            counted.append(part.shard)
            if caps[part.shard].day_micros is not None:
                operations.append(self._hold_day(tenant_id, f"{month}-{day}", part, caps[part.shard]))
                counted.append(part.shard)
        for operation in operations:
            operation.get("Put", operation.get("Update", {}))["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        try:
            self.table.meta.client.transact_write_items(TransactItems=operations, ClientRequestToken=_token(token))
        except ClientError as error:
            raise_if_contended(error)
            if error.response.get("Error", {}).get("Code") == "IdempotentParameterMismatchException":
                # This request id's reservation was written before with other figures: it exists.
                raise Refused({}, self.reservation(tenant_id, request_id) or {"status": "unknown"}) from error
            reasons = error.response.get("CancellationReasons") or []
            if not reasons:
                raise
            if reasons[0].get("Code") == "ConditionalCheckFailed":
                raise Refused({}, _plain(reasons[0].get("Item") or {})) from error
            counters: dict[int, dict[str, Any]] = {}
            for shard_of, reason in zip(counted, reasons[1:], strict=False):
                old = _plain(reason.get("Item") or {})
                target = counters.setdefault(shard_of, {})
                if str(old.get("SK", "")).startswith("DAY#"):
                    target["day_committed"] = int(old.get("committed", 0))
                else:
                    target.update(old)
            raise Refused(counters) from error
        return item

    def _hold_month(self, tenant_id: str, month: str, part: Part, caps: Caps) -> dict[str, Any]:
        values: dict[str, Any] = {":ty": "counter", ":a": part.amount, ":t": part.tokens, ":r": part.requests}
        clauses = []
        for attr, room, name in (
            ("committed", caps.month_micros, ":mroom"),
            ("committed_tokens", caps.tokens, ":troom"),
            ("requests", caps.requests, ":rroom"),
        ):
            if room is not None:
                clauses.append(f"(attribute_not_exists({attr}) OR {attr} <= {name})")
                values[name] = room
        update: dict[str, Any] = {
            "TableName": self.name,
            "Key": month_key(tenant_id, part.shard, month),
            "UpdateExpression": "SET #ty = :ty ADD committed :a, committed_tokens :t, requests :r",
            "ExpressionAttributeNames": {"#ty": "type"},
            "ExpressionAttributeValues": values,
        }
        if clauses:
            update["ConditionExpression"] = " AND ".join(clauses)
        return {"Update": update}

    def _hold_day(self, tenant_id: str, day: str, part: Part, caps: Caps) -> dict[str, Any]:
        return {
            "Update": {
                "TableName": self.name,
                "Key": day_key(tenant_id, part.shard, day),
                "UpdateExpression": "SET #ty = :ty ADD committed :a",
                "ConditionExpression": "attribute_not_exists(committed) OR committed <= :room",
                "ExpressionAttributeNames": {"#ty": "type"},
                "ExpressionAttributeValues": {":ty": "counter", ":a": part.amount, ":room": caps.day_micros},
            }
        }

    def settlement_operations(
        self, tenant_id: str, request_id: str, reservation: dict[str, Any], costs: dict[int, tuple[int, int]]
    ) -> list[dict[str, Any]]:
        """Transaction items that consume a held reservation into spend: `costs` is shard -> (cost, tokens used).

        Conditional on the reservation still being held, so a settlement happens at most once (a second one
        cancels its whole transaction, messages included).
        """
        month, day, parts = reservation["month"], reservation["day"], parts_of(reservation)
        total = sum(cost for cost, _ in costs.values())
        operations = [self._close(tenant_id, request_id, "settled", cost_micros=total)]
        for part in parts:
            cost, used = costs.get(part.shard, (0, 0))
            operations.append(
                self._adjust(
                    month_key(tenant_id, part.shard, month),
                    committed=cost - part.amount,
                    spent=cost,
                    committed_tokens=used - part.tokens,
                    tokens=used,
                )
            )
            if reservation.get("daily"):
                key = day_key(tenant_id, part.shard, f"{month}-{day}")
                operations.append(self._adjust(key, committed=cost - part.amount, spent=cost))
        return operations

    def release_operations(self, tenant_id: str, request_id: str, reservation: dict[str, Any]) -> list[dict[str, Any]]:
        """Transaction items giving a held reservation back (conditional on it still being held)."""
        month, day = reservation["month"], reservation["day"]
        operations = [self._close(tenant_id, request_id, "released")]
        for part in parts_of(reservation):
            key = month_key(tenant_id, part.shard, month)
            operations.append(
                self._adjust(key, committed=-part.amount, committed_tokens=-part.tokens, requests=-part.requests)
            )
            if reservation.get("daily"):
                operations.append(
                    self._adjust(day_key(tenant_id, part.shard, f"{month}-{day}"), committed=-part.amount)
                )
        return operations

    def move(self, moves: list[Move], *, token: str) -> None:
        """Add each move's amounts to its counter in one transaction (they add up to zero per attribute, so the
        totals never change); a counter receiving an amount must have the room for it. Raises Refused when one
        has not (it moved since it was read), Contended when DynamoDB asks to try again."""
        operations = []
        for move in moves:
            operation = self._adjust(move.key, **move.adds)
            update = operation["Update"]
            clauses = []
            for i, attr in enumerate(move.adds):  # `_adjust` names the i-th attribute `#a{i}`
                if attr in move.caps:
                    update["ExpressionAttributeValues"][f":c{i}"] = move.caps[attr]
                    clauses.append(f"(attribute_not_exists(#a{i}) OR #a{i} <= :c{i})")
            if clauses:
                update["ConditionExpression"] = " AND ".join(clauses)
            operations.append(operation)
        self.transact(operations, token=token)

    def tombstone(self, tenant_id: str, request_id: str, expires_at: int) -> bool:
        """Mark a reservation that never landed as released, so a delayed copy of it cannot land later."""
        try:
            self.table.put_item(
                Item={
                    **reservation_key(tenant_id, request_id),
                    "type": "reservation",
                    "status": "released",
                    "expires_at": expires_at + TOMBSTONE_SECONDS,
                },
                ConditionExpression="attribute_not_exists(PK)",
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def _close(self, tenant_id: str, request_id: str, status: str, cost_micros: int | None = None) -> dict[str, Any]:
        """The reservation's own item leaves `held` (once: conditioned on it); a settlement records what it billed."""
        values: dict[str, Any] = {":new": status, ":held": "held"}
        billed = ""
        if cost_micros is not None:
            values[":cost"], billed = cost_micros, ", cost_micros = :cost"
        return {
            "Update": {
                "TableName": self.name,
                "Key": reservation_key(tenant_id, request_id),
                "UpdateExpression": f"SET #st = :new{billed} REMOVE GSI1PK, GSI1SK",
                "ConditionExpression": "#st = :held",
                "ExpressionAttributeNames": {"#st": "status"},
                "ExpressionAttributeValues": values,
            }
        }

    def _adjust(self, key: dict[str, str], **adds: int) -> dict[str, Any]:
        names = {f"#a{i}": name for i, name in enumerate(adds)}
        values = {f":a{i}": value for i, value in enumerate(adds.values())}
        return {
            "Update": {
                "TableName": self.name,
                "Key": key,
                "UpdateExpression": "ADD " + ", ".join(f"#a{i} :a{i}" for i in range(len(adds))),
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": values,
            }
        }

    def transact(  # type: ignore[override]
        self, operations: list[dict[str, Any]], *, token: str
    ) -> None:
        """Write settlement or release items at once; Refused when the reservation is no longer held."""
        try:
            self.table.meta.client.transact_write_items(TransactItems=operations, ClientRequestToken=_token(token))
        except ClientError as error:
            raise_if_contended(error)
            if "ConditionalCheckFailed" in transaction_cancel_reasons(error):
                raise Refused({}) from error
            raise

    # --- reads ---------------------------------------------------------------------------------
    def reservation(self, tenant_id: str, request_id: str) -> dict[str, Any] | None:
        item = self.table.get_item(Key=reservation_key(tenant_id, request_id), ConsistentRead=True).get("Item")
        return dict(item) if item else None

    def shards_of(self, tenant_id: str, shards: int, month: str, day: str | None = None) -> dict[int, dict[str, Any]]:
        """Every shard's month counter (with `day_committed` / `day_spent` when `day` is given), consistently."""
        keys = [month_key(tenant_id, k, month) for k in range(shards)]
        if day is not None:
            keys += [day_key(tenant_id, k, day) for k in range(shards)]
        found: dict[int, dict[str, Any]] = {k: {} for k in range(shards)}
        for item in self._batch_get(keys):
            shard = int(str(item["PK"]).rsplit("#", 1)[1])
            if str(item["SK"]).startswith("DAY#"):
                found[shard]["day_committed"] = int(item.get("committed", 0))
                found[shard]["day_spent"] = int(item.get("spent", 0))
            else:
                found[shard].update(item)
        return found

    def month_totals(self, tenant_id: str, shards: int, month: str) -> dict[str, Any]:
        """The month's shards added up, and the request ids still held (`held`): what an operator inspects."""
        totals: dict[str, Any] = dict.fromkeys(("committed", "spent", "committed_tokens", "tokens", "requests"), 0)
        for counter in self.shards_of(tenant_id, shards, month).values():
            for name in list(totals):
                totals[name] += int(counter.get(name, 0))
        totals["held"] = [str(item["PK"]).split("#", 2)[2] for item in self.expired(tenant_id, shards, float("inf"))]
        return totals

    def months_of(self, tenant_ids: list[str], shards: int, month: str) -> dict[str, dict[str, int]]:
        """Many tenants' month shards added up (`committed`, `spent`), in batches: what the minute schedule reads."""
        keys = [month_key(tenant, k, month) for tenant in tenant_ids for k in range(shards)]
        totals: dict[str, dict[str, int]] = {}
        for item in self._batch_get(keys):
            tenant = str(item["PK"]).removeprefix("COUNTER#").rsplit("#", 1)[0]
            total = totals.setdefault(tenant, {"committed": 0, "spent": 0})
            total["committed"] += int(item.get("committed", 0))
            total["spent"] += int(item.get("spent", 0))
        return totals

    def expired(self, tenant_id: str, shards: int, now: float) -> list[dict[str, Any]]:
        """Held reservations past their expiry, from the sparse index (lag is harmless: they are minutes old)."""
        found: list[dict[str, Any]] = []
        for shard in range(shards):
            found += self.query_all(
                IndexName="GSI1",
                KeyConditionExpression=Key("GSI1PK").eq(f"HELD#{tenant_id}#{shard}")
                & Key("GSI1SK").lt("~" if now == float("inf") else f"{int(now):012d}#~"),
            )
        return found

    def _batch_get(self, keys: list[dict[str, str]]) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        for start in range(0, len(keys), 100):
            request: dict[str, Any] = {self.name: {"Keys": keys[start : start + 100], "ConsistentRead": True}}
            while request:
                answer = self.table.meta.client.batch_get_item(RequestItems=request)
                items += answer.get("Responses", {}).get(self.name, [])
                request = answer.get("UnprocessedKeys") or {}
        return items


def parts_of(reservation: dict[str, Any]) -> list[Part]:
    return [Part(**part) for part in json.loads(reservation["parts"])]


def _plain(item: dict[str, Any]) -> dict[str, Any]:
    return {name: _deserialize.deserialize(value) for name, value in item.items()}


def _token(name: str) -> str:
    """A ClientRequestToken (at most 36 characters) that names one logical write: its retries share it."""
    return hashlib.sha256(name.encode()).hexdigest()[:36]
