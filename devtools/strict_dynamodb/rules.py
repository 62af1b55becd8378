"""The strict layer's settings, its fault plan, DynamoDB's item-size rule and the per-item write-throughput meter."""

from __future__ import annotations

import base64
import math
import random
import time
from dataclasses import asdict, dataclass, field, fields
from typing import Any

FAULT_KINDS = ("error", "latency", "reset", "lost")


@dataclass
class Settings:
    """What tests may tune (`POST /_strict/settings`); `Settings()` is the default a fresh server starts with."""

    transaction_window_ms: float = 0.0  # extra time a transaction stays in flight (its items locked) before it commits
    gsi_lag_ms: float = 0.0  # how far Query/Scan on a global secondary index trail the base table
    item_wcu_per_second: float = 1000.0  # write capacity one item key takes per second (a partition's limit)
    token_ttl_seconds: float = 600.0  # how long a TransactWriteItems ClientRequestToken is remembered
    max_item_bytes: int = 400 * 1024

    def update(self, changes: dict[str, Any]) -> None:
        known = {f.name: f.type for f in fields(self)}
        for name, value in changes.items():
            if name not in known:
                raise ValueError(f"unknown setting {name!r}; known: {', '.join(known)}")
            setattr(self, name, int(value) if name == "max_item_bytes" else float(value))

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class FaultRule:
    """One entry of the fault plan. `operation` is a DynamoDB action (`PutItem`, …) or `*`; `table` and `key` are
    substrings of the table name and of the request's keys; `count` limits how often it fires (None: always),
    `probability` with `seed` makes it random but reproducible.

    kinds: `error` answers `status` with `code`/`message` without touching data; `latency` waits `latency_ms` and
    then serves the request; `reset` closes the connection without answering (nothing is written); `lost` applies
    the request, waits `latency_ms`, then closes the connection (the write landed, the answer never arrives)."""

    operation: str
    kind: str = "error"
    code: str = "InternalServerError"
    status: int = 500
    message: str = "Internal server error"
    latency_ms: float = 0.0
    table: str | None = None
    key: str | None = None
    count: int | None = None
    probability: float = 1.0
    seed: int | None = None
    fired: int = 0
    _rng: random.Random = field(default_factory=random.Random, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; known: {', '.join(FAULT_KINDS)}")
        self._rng = random.Random(self.seed)  # noqa: S311 - reproducible test faults, not secrets

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FaultRule:
        allowed = {f.name for f in fields(cls)} - {"fired", "_rng"}
        unknown = set(data) - allowed
        if unknown:
            raise ValueError(f"unknown fault rule fields: {', '.join(sorted(unknown))}")
        return cls(**data)

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "_rng"}

    def matches(self, operation: str, tables: list[str], keys_text: str) -> bool:
        """Whether the rule fires for this request; firing consumes one of `count`."""
        if self.operation not in ("*", operation):
            return False
        if self.table is not None and not any(self.table in t for t in tables):
            return False
        if self.key is not None and self.key not in keys_text:
            return False
        if self.count is not None and self.fired >= self.count:
            return False
        if self.probability < 1.0 and self._rng.random() >= self.probability:
            return False
        self.fired += 1
        return True


@dataclass
class Decision:
    latency_ms: float = 0.0
    rule: FaultRule | None = None  # the error/reset/lost rule that fired, if any


def decide(rules: list[FaultRule], operation: str, tables: list[str], keys_text: str) -> Decision:
    """Every matching latency rule adds up; the first matching rule of another kind decides the outcome."""
    decision = Decision()
    for rule in rules:
        if rule.kind == "latency":
            if rule.matches(operation, tables, keys_text):
                decision.latency_ms += rule.latency_ms
        elif decision.rule is None and rule.matches(operation, tables, keys_text):
            decision.rule = rule
    return decision


def _number_size(text: str) -> int:
    digits = text.lstrip("+-").lower().split("e")[0].replace(".", "").strip("0")
    return (max(len(digits), 1) + 1) // 2 + 1


def value_size(value: dict[str, Any]) -> int:
    """DynamoDB's size of one attribute value (names count separately), as the developer guide gives it."""
    ((kind, inner),) = value.items()
    if kind == "S":
        return len(str(inner).encode())
    if kind == "N":
        return _number_size(str(inner))
    if kind == "B":
        return len(base64.b64decode(inner)) if isinstance(inner, str) else len(inner)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(s.encode()) for s in inner)
    if kind == "NS":
        return sum(_number_size(n) for n in inner)
    if kind == "BS":
        return sum(len(base64.b64decode(b)) if isinstance(b, str) else len(b) for b in inner)
    if kind == "L":
        return 3 + sum(value_size(v) + 1 for v in inner)
    if kind == "M":
        return 3 + sum(len(k.encode()) + value_size(v) + 1 for k, v in inner.items())
    return len(str(inner).encode())


def item_size(attrs: dict[str, Any] | None) -> int:
    """Attribute names (UTF-8 bytes) plus attribute values: what the 400 KB limit and write units are counted on."""
    return sum(len(name.encode()) + value_size(value) for name, value in (attrs or {}).items())


def write_units(*sizes: int) -> int:
    """A standard write: 1 WCU per started KB of the larger image, at least 1."""
    return max(1, math.ceil(max(sizes, default=0) / 1024))


class Throughput:
    """A token bucket per item key: `item_wcu_per_second` capacity refilled per second."""

    def __init__(self) -> None:
        self._buckets: dict[Any, tuple[float, float]] = {}
        self._prune_at = 1024  # the size at which idle buckets are dropped next

    def __len__(self) -> int:
        return len(self._buckets)

    def reset(self) -> None:
        self._buckets.clear()

    def available(self, key: Any, limit: float, now: float | None = None) -> float:
        now = time.monotonic() if now is None else now
        tokens, last = self._buckets.get(key, (limit, now))
        return min(limit, tokens + (now - last) * limit)

    def take(self, costs: dict[Any, int], limit: float) -> list[Any]:
        """Charge every key its cost, all or nothing; returns the keys that have too little capacity left."""
        now = time.monotonic()
        short = [key for key, cost in costs.items() if self.available(key, limit, now) < cost]
        if not short:
            for key, cost in costs.items():
                self._buckets[key] = (self.available(key, limit, now) - cost, now)
        if len(self._buckets) > self._prune_at:
            self._forget_full(now)
        return short

    def _forget_full(self, now: float) -> None:
        """Drop the buckets idle for a second or more: they have refilled, so a missing bucket means the same.
        The next prune waits until the meter has doubled, so pruning costs O(1) a write on average."""
        self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < 1.0}
        self._prune_at = max(1024, 2 * len(self._buckets))


def read_units(operation: str, body: dict[str, Any], answer: dict[str, Any]) -> float:
    """On-demand read units of one answered read: 1 per started 4 KB strongly consistent, half that eventually
    consistent, twice that in a transaction; a Query or Scan is rounded up over all the items it returned."""
    consistent = 1.0 if body.get("ConsistentRead") else 0.5

    def started_4kb(size: int) -> int:
        return max(1, math.ceil(size / 4096))

    if operation == "GetItem":
        return consistent * started_4kb(item_size(answer.get("Item")))
    if operation in ("Query", "Scan"):
        return consistent * started_4kb(sum(item_size(item) for item in answer.get("Items", [])))
    if operation == "TransactGetItems":
        return sum(2.0 * started_4kb(item_size(r.get("Item"))) for r in answer.get("Responses", []))
    if operation == "BatchGetItem":
        items = [item for found in answer.get("Responses", {}).values() for item in found]
        return sum(consistent * started_4kb(item_size(item)) for item in items)
    return 0.0
