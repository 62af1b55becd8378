"""Budget reservations in DynamoDB: hold a call's worst case, settle its real cost, or give it back.

Every call reserves its worst case before it runs (one conditional UpdateItem: committed + amount <= limit) and
settles its real cost after, so while the worst case holds, concurrent calls never spend past a hard limit.
If a provider bills more than the worst case, settlement still records the real cost (the counter is never
wrong) and the overshoot stays bounded: once `committed` passes the limit every further reservation is refused,
so the limit is passed by at most the underestimates of the calls holding a reservation when the last one was
admitted. That is one call's underestimate when calls run one after another, and at most one per reservation
the limit can hold at once (budget / smallest reservation) when they run concurrently.

Only `budget.hold` calls these in the product; they stay public for the tests of the counter's semantics.
"""

from __future__ import annotations

import random
import time
from typing import Any

from botocore.exceptions import ClientError

from atende.billing.periods import periods, utc
from atende.billing.policy import tenant_limits
from atende.billing.pricing import PRICE_TABLE_VERSION
from atende.billing.refusals import caps_for, refusal_for
from atende.billing.values import Reservation, Usage
from atende.models.tenants import Tenant
from atende.platform.errors import Conflict
from atende.store import stores
from atende.store.usage import Refused

# Far above the chat function's timeout: a reservation this old belongs to an invocation that is gone, so
# sweeping it can never race with its own settlement.
RESERVATION_TTL_SECONDS = 300


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
) -> Reservation:
    """Hold `amount_micros` (the call's worst case) and `tokens` against the tenant's limits: one UpdateItem.

    Raises LimitExceeded naming the limit and when it resets. Expired reservations blocking the tenant are
    swept on the spot, then the reservation is tried once more. `requests=0` is for a call that is not a user
    request (a summary): outside the request quota, and its refusal is not counted as a refused request.
    """
    limits, moment = tenant_limits(tenant).effective, utc(now)
    month, dd = periods(moment)
    caps, store = caps_for(limits, amount_micros, tokens, requests), stores().usage
    swept = False
    for attempt in range(4):
        if any(room is not None and room < 0 for room in vars(caps).values()):
            counter: dict[str, Any] = {}
        else:
            try:
                figures = store.reserve(
                    tenant.id,
                    month,
                    dd,
                    request_id,
                    amount=amount_micros,
                    tokens=tokens,
                    expires_at=int(moment.timestamp()) + RESERVATION_TTL_SECONDS,
                    caps=caps,
                    requests=requests,
                )
                spent, day_spent = figures["spent"], figures["day_spent"]
                return Reservation(tenant.id, request_id, amount_micros, tokens, month, dd, spent, day_spent, requests)
            except Refused as refused:
                counter = refused.item
                if f"r_{request_id}" in counter:
                    # Request ids are unique per call: this hold is ours, written by an attempt whose answer was
                    # lost (the SDK retried after a timeout). Adopt it rather than refuse or hold twice.
                    held = counter[f"r_{request_id}"]
                    if int(held.get("amount", -1)) != amount_micros:
                        raise Conflict(
                            f"Request {request_id} already holds another reservation.", param="request_id"
                        ) from None
                    spent, day_spent = int(counter.get("spent", 0)), int(counter.get(f"ds_{dd}", 0))
                    return Reservation(
                        tenant.id, request_id, amount_micros, tokens, month, dd, spent, day_spent, requests
                    )
            except ClientError as error:  # a transaction holds the counter: DynamoDB asks us to retry
                if error.response.get("Error", {}).get("Code") != "TransactionConflictException" or attempt == 3:
                    raise
                time.sleep(random.uniform(0.005, 0.03))  # noqa: S311 — jitter, not crypto
                continue
            if not swept and store.sweep(tenant.id, month, counter, moment.timestamp()):
                swept = True
                continue
        if requests:
            store.count(tenant.id, f"{month}-{dd}", "refused", bot_id=bot_id, model=model)
        raise refusal_for(limits, counter, amount_micros, tokens, moment)
    raise AssertionError("unreachable")


def settlement_operations(
    reservation: Reservation, cost: int, usage: Usage, *, bot_id: str, model: str
) -> list[dict[str, Any]]:
    """Transaction items that settle a reservation; written with the turn's messages in one transaction."""
    return stores().usage.settlement_operations(
        reservation.tenant_id,
        reservation.month,
        reservation.day,
        reservation.request_id,
        reserved=reservation.amount_micros,
        reserved_tokens=reservation.tokens,
        cost=cost,
        counts=usage.counts(),
        bot_id=bot_id,
        model=model,
        price_version=PRICE_TABLE_VERSION,
        requests=reservation.requests,
    )


def release(reservation: Reservation) -> None:
    """Give back a reservation whose call failed before any usage was billed."""
    r = reservation
    stores().usage.release(
        r.tenant_id, r.month, r.day, r.request_id, amount=r.amount_micros, tokens=r.tokens, requests=r.requests
    )
