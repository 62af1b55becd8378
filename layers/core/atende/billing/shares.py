"""How a tenant's limits are divided over its counter shards: each shard's share, a call split over several
shards, and rebalancing shards that hold more than their share.

Every shard may hold its share of each limit, and the shares add up to the limit; a reservation's condition
reads only its own shard, so the shards together stay within the limit only while none holds more than its
share. A shard can: spend made before a limit existed, or under a higher one, sits wherever those calls
landed. `rebalance` moves the committed amounts of such shards onto shards with room (the totals never
change), so the limit holds again; the config API runs it when limits change and the minute schedule runs it
again shortly after, for calls that were admitted under the old limits while containers still cached them.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable
from typing import Any

from atende.billing.periods import periods, utc
from atende.billing.values import Reservation
from atende.models.limits import Limits
from atende.platform.observability import logger
from atende.platform.settings import get_settings
from atende.store import stores
from atende.store.counters import Caps, Contended, Move, Part, Refused, day_key, month_key

# The limit and the counter attribute each shard holds its share of: (limit, attribute, item kind).
DIMENSIONS = (
    ("monthly_budget_micros", "committed", "month"),
    ("monthly_token_quota", "committed_tokens", "month"),
    ("monthly_request_quota", "requests", "month"),
    ("daily_budget_micros", "day_committed", "day"),
)
REBALANCE_ATTEMPTS = 4


def share(limit: int | None, shards: int, shard: int) -> int | None:
    """Shard `shard`'s share of `limit`: equal shares, the remainder on shard 0, adding up to the limit."""
    if limit is None:
        return None
    return limit // shards + (limit % shards if shard == 0 else 0)


def shard_caps(limits: Limits, shards: int, part: Part) -> Caps:
    """What shard `part.shard` may hold before `part` is added (conditions cannot add, so we subtract)."""

    def room(limit: int | None, need: int) -> int | None:
        mine = share(limit, shards, part.shard)
        return None if mine is None else mine - need

    return Caps(
        month_micros=room(limits.monthly_budget_micros, part.amount),
        day_micros=room(limits.daily_budget_micros, part.amount),
        tokens=room(limits.monthly_token_quota, part.tokens),
        requests=room(limits.monthly_request_quota, part.requests) if part.requests else None,
    )


def split(
    limits: Limits, shards: int, counters: dict[int, dict[str, Any]], wanted: Reservation, dd: str
) -> list[Part] | None:
    """Parts over several shards that fit their rooms as last read, or None when the rooms do not add up."""

    def rooms(limit: int | None, attr: str) -> list[int] | None:
        if limit is None:
            return None
        return [max(0, (share(limit, shards, k) or 0) - int(counters.get(k, {}).get(attr, 0))) for k in range(shards)]

    month, day = rooms(limits.monthly_budget_micros, "committed"), rooms(limits.daily_budget_micros, "day_committed")
    money = [min(r) for r in zip(*(x for x in (month, day) if x is not None), strict=True)] if month or day else None
    tokens = rooms(limits.monthly_token_quota, "committed_tokens")
    requests = rooms(limits.monthly_request_quota, "requests")
    amounts = _spread(wanted.amount_micros, money, shards)
    token_parts = _spread(wanted.tokens, tokens, shards)
    if amounts is None or token_parts is None:
        return None
    request_shard = 0
    if wanted.requests and requests is not None:
        open_shards = [k for k in range(shards) if requests[k] >= wanted.requests]
        if not open_shards:
            return None
        request_shard = open_shards[0]
    used = {k for k in range(shards) if amounts[k] or token_parts[k]} | ({request_shard} if wanted.requests else set())
    return [Part(k, amounts[k], token_parts[k], wanted.requests if k == request_shard else 0) for k in sorted(used)]


def _spread(need: int, rooms: list[int] | None, shards: int) -> list[int] | None:
    """`need` spread greedily over the rooms (everything on shard 0 when unchecked), or None if it cannot fit."""
    if rooms is None:
        return [need if k == 0 else 0 for k in range(shards)]
    if sum(rooms) < need:
        return None
    parts, left = [0] * shards, need
    for k in sorted(range(shards), key=lambda k: -rooms[k]):
        parts[k] = min(left, rooms[k])
        left -= parts[k]
    return parts


def over_shares(
    limits: Limits, shards: int, counters: dict[int, dict[str, Any]], key_of: Callable[[str, int], dict[str, str]]
) -> dict[tuple[str, int], Move]:
    """The moves that bring every shard within its share of every limit, as far as the shards' rooms allow
    (when the total is past a limit, every shard is filled to its share, so none has room left); keyed by
    (item kind, shard), each naming its item by `key_of(kind, shard)`."""
    moves: dict[tuple[str, int], Move] = {}
    for limit_name, attr, kind in DIMENSIONS:
        limit = getattr(limits, limit_name)
        if limit is None:
            continue
        held = [int(counters.get(k, {}).get(attr, 0)) for k in range(shards)]
        shares = [share(limit, shards, k) or 0 for k in range(shards)]
        over = [max(0, h - s) for h, s in zip(held, shares, strict=True)]
        room = [max(0, s - h) for h, s in zip(held, shares, strict=True)]
        moving = min(sum(over), sum(room))
        if not moving:
            continue
        taken, given = _spread(moving, over, shards) or [], _spread(moving, room, shards) or []
        stored = "committed" if kind == "day" else attr
        for k in range(shards):
            delta = given[k] - taken[k]
            if not delta:
                continue
            move = moves.setdefault((kind, k), Move(key_of(kind, k), {}, {}))
            move.adds[stored] = delta
            if delta > 0:
                move.caps[stored] = shares[k] - delta
    return moves


def rebalance(tenant_id: str, limits: Limits, now: float | None = None) -> bool:
    """Move committed amounts off shards past their share onto shards with room; True if anything moved.

    Re-read and tried again when a shard moved between the read and the write; a rebalance that keeps losing
    that race is left to the next minute's schedule (logged), since the calls it races with are the ones
    being admitted or refused correctly meanwhile.
    """
    shards = get_settings().budget_counter_shards
    if shards == 1 or all(getattr(limits, name) is None for name, _, _ in DIMENSIONS):
        return False
    month, dd = periods(utc(now))
    day = f"{month}-{dd}"
    store = stores().counters

    def key_of(kind: str, shard: int) -> dict[str, str]:
        return month_key(tenant_id, shard, month) if kind == "month" else day_key(tenant_id, shard, day)

    for attempt in range(REBALANCE_ATTEMPTS):
        counters = store.shards_of(tenant_id, shards, month, day if limits.daily_budget_micros is not None else None)
        moves = [move for _, move in sorted(over_shares(limits, shards, counters, key_of).items())]
        if not moves:
            return False  # nothing past its share (any longer)
        try:
            store.move(moves, token=f"rebalance-{tenant_id}-{uuid.uuid4().hex}")
            logger.info("rebalanced budget shards", extra={"tenant_id": tenant_id, "moves": len(moves)})
            return True
        except (Refused, Contended):
            time.sleep(random.uniform(0.01, 0.05 * (attempt + 1)))  # noqa: S311 — jitter, not crypto
    logger.warning("budget shards stayed busy; rebalanced next minute", extra={"tenant_id": tenant_id})
    return False
