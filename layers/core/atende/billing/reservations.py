"""Budget reservations: hold a call's worst case on a counter shard, settle its real cost once, or give it back.

A reservation is one transaction: the reservation item and its part on one shard (and the day counter when the
tenant has a daily budget). Each shard may hold its share of every limit, and the shares add up to the limit,
so concurrent calls never hold more than the limit together; a call that fits no single shard's room is split
over several shards in one transaction, so the whole budget stays usable. The real cost is settled at most at
what was reserved (a provider reporting more is recorded as an anomaly, never billed past the hold), so spend
never passes a hard limit.

Every write carries a ClientRequestToken derived from the request id, so a retried write whose first answer was
lost is applied once; an outcome that stays unknown is resolved by reading the reservation, never by writing
the money again. Only `budget.hold` calls these in the product; the tests of the counters call them directly.
"""

from __future__ import annotations

import random
import time
import uuid
from typing import Any

from cachetools import TTLCache

from atende.billing.periods import periods, utc
from atende.billing.policy import tenant_limits
from atende.billing.pricing import PRICE_TABLE_VERSION
from atende.billing.refusals import caps_for, refusal_for
from atende.billing.shares import shard_caps, split
from atende.billing.values import Reservation, Usage
from atende.models.limits import Limits
from atende.models.tenants import Tenant
from atende.platform import aws
from atende.platform.deadline import Deadline, bounded, current
from atende.platform.errors import Conflict, StoreUnavailable, UpstreamUnavailable
from atende.platform.observability import logger
from atende.platform.retry import OUTSIDE_TURN_SECONDS, attempts
from atende.platform.settings import get_settings
from atende.store import stores
from atende.store.counters import Contended, Part, Refused, parts_of
from atende.store.usage_report import report_additions

# Far above the chat function's timeout: a reservation this old belongs to an invocation that is gone, so
# sweeping it can never race with its own settlement.
RESERVATION_TTL_SECONDS = 300
SETTLE_GRACE_SECONDS = 0.1  # past the turn's deadline, for billing a call the provider answered
REFUSED, CONTENDED = "refused", "contended"
INDEX_LAG_MARGIN_SECONDS = 60  # a reservation the index did not show yet is older than the sweep by less
# Per container: tenant -> the earliest time one of its reservations can expire, as its last sweep saw.
_quiet_until: TTLCache[str, float] = TTLCache(maxsize=4096, ttl=RESERVATION_TTL_SECONDS)


def reserve(
    tenant: Tenant,
    request_id: str,
    amount_micros: int,
    *,
    tokens: int = 0,
    bot_id: str | None = None,
    model: str | None = None,
    requests: int = 1,
    now: float | None = None,
    speculative: bool = False,
) -> Reservation:
    """Hold `amount_micros` (the call's worst case) and `tokens` against the tenant's limits.

    Raises LimitExceeded naming the limit and when it resets (expired reservations blocking the tenant are swept
    first), Conflict when this request id already holds another reservation, UpstreamUnavailable when DynamoDB
    stays contended. `requests=0` is for a call that is not a user request (a summary): outside the request
    quota, and its refusal is not counted as a refused request. `speculative`: a refusal is neither counted nor
    swept for (the turn reserves again itself when this one is refused).
    """
    limits, moment = tenant_limits(tenant).effective, utc(now)
    month, dd = periods(moment)
    shards = get_settings().budget_counter_shards
    expires_at = int(moment.timestamp()) + RESERVATION_TTL_SECONDS
    wanted = Reservation(tenant.id, request_id, amount_micros, tokens, month, dd, requests)
    call = uuid.uuid4().hex[:12]
    whole = caps_for(limits, amount_micros, tokens, requests)
    counters: dict[int, dict[str, Any]] = {}
    if all(room is None or room >= 0 for room in vars(whole).values()):
        for swept in (False, True):
            outcomes: dict[int, str] = {}  # shard -> REFUSED (final for this call) or CONTENDED (tried again)
            for _ in attempts():  # rounds over the shards while some are too busy to answer, inside the deadline
                first = random.randrange(shards)  # noqa: S311 — load spreading, not crypto
                for shard in [(first + i) % shards for i in range(shards)]:
                    if outcomes.get(shard) == REFUSED:
                        continue  # no room a moment ago: the split below reads it again, once
                    part = Part(shard, amount_micros, tokens, requests)
                    outcome = _try(wanted, [part], limits, shards, expires_at, call)
                    if isinstance(outcome, Reservation):
                        return outcome
                    outcomes[shard] = outcome
                if CONTENDED not in outcomes.values():
                    break
            if REFUSED not in outcomes.values():
                raise UpstreamUnavailable("The budget counters are busy; try again soon.", code="budget_contended")
            # Every shard refused it alone: read them all at once, and split it over their rooms if they add up.
            counters = stores().counters.shards_of(tenant.id, shards, month, f"{month}-{dd}")
            parts = split(limits, shards, counters, wanted, dd)
            held = _try(wanted, parts, limits, shards, expires_at, call, attempts=3) if parts else None
            if isinstance(held, Reservation):
                return held
            deadline = current()
            if (
                swept
                or speculative
                or (deadline and deadline.remaining() < 1.0)
                or not sweep_tenant(tenant.id, moment.timestamp())
            ):
                break  # swept already, no time left to sweep, or nothing to sweep
        existing = stores().counters.reservation(tenant.id, request_id)
        if existing is not None:  # refused because this request id holds it already (a lost answer), or held it
            return _adopt(wanted, existing)
    if requests and not speculative:
        _count_refused(tenant.id, f"{month}-{dd}", bot_id, model)
    raise refusal_for(limits, totals(counters, dd), amount_micros, tokens, moment)


def _try(
    wanted: Reservation,
    parts: list[Part],
    limits: Limits,
    shards: int,
    expires_at: int,
    call: str,
    *,
    attempts: int = 2,
) -> Reservation | str:
    """One reservation (retried briefly while contended): the reservation, REFUSED or CONTENDED."""
    store = stores().counters
    caps = {part.shard: shard_caps(limits, shards, part) for part in parts}
    if any(room is not None and room < 0 for cap in caps.values() for room in vars(cap).values()):
        return REFUSED  # a part larger than its shard's whole share (a new item would pass any condition)
    # One token per reserve() call and parts: its retries share it, another call never does (a token-deduped
    # success must mean this call's own write landed, not that an older one once did).
    token = f"reserve-{'-'.join(f'{p.shard}:{p.amount}' for p in parts)}-{call}-{wanted.request_id}"
    for attempt in range(attempts):
        try:
            written = store.reserve(
                wanted.tenant_id,
                wanted.request_id,
                month=wanted.month,
                day=wanted.day,
                parts=parts,
                caps=caps,
                expires_at=expires_at,
                token=token,
            )
            if expires_at < _quiet_until.get(wanted.tenant_id, 0.0):  # written with a `now` before the sweep's
                _quiet_until[wanted.tenant_id] = expires_at
            return _with_record(wanted, written)
        except Refused as refused:
            if refused.existing is not None:
                return _adopt(wanted, refused.existing)
            return REFUSED
        except Contended:
            _pause(attempt)
    return CONTENDED


def _adopt(wanted: Reservation, existing: dict[str, Any]) -> Reservation:
    """This request id already holds a reservation: ours, written by an attempt whose answer was lost."""
    if existing.get("status") != "held" or sum(p.amount for p in parts_of(existing)) != wanted.amount_micros:
        raise Conflict(f"Request {wanted.request_id} already holds another reservation.", param="request_id")
    return _with_record(wanted, existing)


def _with_record(wanted: Reservation, item: dict[str, Any]) -> Reservation:
    record = {
        "month": item.get("month"),
        "day": item.get("day"),
        "parts": item.get("parts"),
        "daily": item.get("daily"),
    }
    return Reservation(
        wanted.tenant_id,
        wanted.request_id,
        wanted.amount_micros,
        wanted.tokens,
        wanted.month,
        wanted.day,
        wanted.requests,
        record,
    )


def totals(counters: dict[int, dict[str, Any]], dd: str) -> dict[str, Any]:
    """The shards added up, in the form `refusal_for` reads."""
    total = {"committed": 0, f"dc_{dd}": 0, "committed_tokens": 0, "requests": 0}
    for counter in counters.values():
        total["committed"] += int(counter.get("committed", 0))
        total[f"dc_{dd}"] += int(counter.get("day_committed", 0))
        total["committed_tokens"] += int(counter.get("committed_tokens", 0))
        total["requests"] += int(counter.get("requests", 0))
    return total


def settlement_operations(
    reservation: Reservation, cost: int, usage: Usage, *, bot_id: str, model: str
) -> list[dict[str, Any]]:
    """Transaction items that consume the reservation into spend and add the turn to the day report.

    `cost` must not exceed the reservation (budget.hold caps it). Written with the turn's messages in one
    transaction; conditional on the reservation being held, so it lands at most once.
    """
    cost = min(cost, reservation.amount_micros)  # never past the hold (budget.hold records why, as an anomaly)
    counts = usage.counts()
    used = counts["input_tokens"] + counts["output_tokens"]
    parts = parts_of(dict(reservation.record))
    costs: dict[int, tuple[int, int]] = {}
    left_cost, left_used = cost, used
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        share_cost = left_cost if last else cost * part.amount // max(1, reservation.amount_micros)
        share_used = left_used if last else used * part.amount // max(1, reservation.amount_micros)
        costs[part.shard] = (share_cost, share_used)
        left_cost, left_used = left_cost - share_cost, left_used - share_used
    store = stores().counters
    operations = store.settlement_operations(
        reservation.tenant_id, reservation.request_id, dict(reservation.record), costs
    )
    figures = {"spent": cost, **counts, "requests": reservation.requests}
    additions = report_additions(figures, bot_id=bot_id, model=model, price_version=PRICE_TABLE_VERSION)
    report_key = stores().usage.report_key(
        reservation.tenant_id, f"{reservation.month}-{reservation.day}", parts[0].shard
    )
    operations.append({"Update": {"TableName": store.name, "Key": report_key, **additions}})
    return operations


def settle_alone(reservation: Reservation, operations: list[dict[str, Any]]) -> None:
    """Write a settlement on its own, tried again while DynamoDB is contended or did not answer (the request token
    makes a repeat land once) until SETTLE_GRACE_SECONDS past the turn's deadline; a lost attempt that landed
    is found by reading, and is success. Raises StoreUnavailable when it cannot be written in that time."""
    grace = settle_window()
    token, failure = f"settle-{reservation.request_id}", "the counters stayed busy"
    with bounded(grace):
        for _ in attempts(grace):
            try:
                stores().counters.transact(operations, token=token)
                return
            except Refused:
                if _status_read_back(reservation, grace) in ("settled", None):
                    # Settled by the turn's own transaction, whose answer was lost (or unreadable now: within a
                    # call's lifetime only its own settlement can close the hold; the sweep waits far longer).
                    return
                raise
            except Contended:
                continue
            except Exception as error:
                if aws.unavailable(error) is None:
                    raise
                failure = "storage did not answer"
    raise StoreUnavailable(f"The call could not be billed ({failure}); its hold is swept.", code="store_unavailable")


def release(reservation: Reservation) -> bool:
    """Give back a reservation whose call failed before any usage was billed; False if it was not held."""
    store = stores().counters
    operations = store.release_operations(reservation.tenant_id, reservation.request_id, dict(reservation.record))
    for _ in attempts():
        try:
            store.transact(operations, token=f"release-{reservation.request_id}")
            return True
        except Refused:
            return False
        except Contended:
            continue
    raise UpstreamUnavailable("The budget counters are busy; the hold expires on its own.", code="budget_contended")


def sweep_tenant(tenant_id: str, now: float) -> int:
    """Give back the tenant's reservations whose calls are long gone; returns how many.

    Skipped (0) while this container knows none of them can have expired yet: every reservation a sweep saw
    expires at a known time, and one made after it expires RESERVATION_TTL_SECONDS after it at the earliest, so
    a tenant refused again and again does not query the index on every refusal.
    """
    if now < _quiet_until.get(tenant_id, 0.0):
        return 0
    store, swept, next_expiry = stores().counters, 0, now + RESERVATION_TTL_SECONDS - INDEX_LAG_MARGIN_SECONDS
    for item in store.expired(tenant_id, get_settings().budget_counter_shards, float("inf")):
        expires_at = int(str(item["GSI1SK"]).split("#", 1)[0])
        if expires_at > now:
            next_expiry = min(next_expiry, expires_at)
            continue
        request_id = str(item["PK"]).split("#", 2)[2]
        record = store.reservation(tenant_id, request_id)
        if record is None or record.get("status") != "held":
            continue
        held = Reservation(tenant_id, request_id, 0, record=record)
        swept += release(held)
    _quiet_until[tenant_id] = next_expiry
    return swept


def _count_refused(tenant_id: str, day: str, bot_id: str | None, model: str | None) -> None:
    """Count the refusal in the day report; best effort: storage failing the count never turns a 429 into a 5xx."""
    try:
        stores().usage.count(tenant_id, day, "refused", bot_id=bot_id, model=model)
    except Exception:  # noqa: BLE001 — the refusal is what the caller needs; the count is a report
        logger.warning("could not count a refused request", exc_info=True)


def settled_by_lost_write(reservation: Reservation) -> bool:
    """Whether a write that failed without a clear answer (lost, timed out, 5xx) settled this reservation after
    all: read back, consistently, until SETTLE_GRACE_SECONDS past the turn's deadline. The settlement closes
    the reservation in the same transaction as the turn's messages, so "settled" means all of it landed."""
    grace = settle_window()
    with bounded(grace):
        return _status_read_back(reservation, grace) == "settled"


def settle_window() -> Deadline:
    """SETTLE_GRACE_SECONDS past the turn's own deadline: one end for every step that settles or reads back a
    paid call, however many run (a storage call may end aws.GRACE_SECONDS after it, the turn's answer is next).
    Outside a turn (schedules, a settlement's own retry) it is what any write outside a turn may spend."""
    turn = current()
    if turn is None:
        return Deadline(OUTSIDE_TURN_SECONDS)
    return Deadline(turn.seconds + SETTLE_GRACE_SECONDS, started=turn.started)


def _status_read_back(reservation: Reservation, deadline: Deadline) -> str | None:
    """The reservation's status, read again while DynamoDB does not answer; None if it never did in time."""
    for _ in attempts(deadline):
        try:
            return _status(reservation)
        except Exception as error:
            if aws.unavailable(error) is None:
                raise
    return None


def _status(reservation: Reservation) -> str | None:
    item = stores().counters.reservation(reservation.tenant_id, reservation.request_id)
    return str(item.get("status")) if item else None


def _pause(attempt: int) -> None:
    time.sleep(random.uniform(0.005, 0.02 * (2**attempt)))  # noqa: S311 — jitter, not crypto
