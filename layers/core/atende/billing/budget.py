"""Spend limits on the hot path: tenant status, prices, budget reservations and their settlement.

Every call reserves its worst case before it runs (one conditional UpdateItem: committed + amount <= limit) and
settles its real cost after, so while the worst case holds, concurrent calls never spend past a hard limit.
If a provider bills more than the worst case, settlement still records the real cost (the counter is never
wrong) and the overshoot stays bounded: once `committed` passes the limit every further reservation is refused,
so the limit is passed by at most the underestimates of the calls holding a reservation when the last one was
admitted. That is one call's underestimate when calls run one after another, and at most one per reservation
the limit can hold at once (budget / smallest reservation) when they run concurrently.

Turn metrics (EMF) live in `usage_metrics`; `emit_turn_metrics` stays importable from here.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from atende.billing.metrics import emit_turn_metrics
from atende.billing.pricing import PRICE_TABLE_VERSION, ModelPrice, cost_micros, resolve_price
from atende.models.limits import Limits, TenantLimits, day_reset, iso, month_reset, periods, usd_text, utc
from atende.models.tenants import Tenant
from atende.platform.errors import Conflict, InvalidRequest, LimitExceeded, TenantSuspended
from atende.store import stores
from atende.store.usage import Caps, Refused

# Far above the chat function's timeout: a reservation this old belongs to an invocation that is gone, so
# sweeping it can never race with its own settlement.
RESERVATION_TTL_SECONDS = 300
LIMITS_CACHE_SECONDS = 60  # upper bound; a change to the limits also bumps the tenant's updated_at


@dataclass(frozen=True)
class Usage:
    """Token usage as the provider reported it."""

    input_tokens: int = 0
    cached_input_tokens: int = 0
    output_tokens: int = 0

    @classmethod
    def from_openai(cls, usage: dict[str, Any] | None) -> Usage:
        usage = usage or {}
        details = usage.get("prompt_tokens_details") or {}
        return cls(
            input_tokens=int(usage.get("prompt_tokens") or 0),
            cached_input_tokens=int(details.get("cached_tokens") or 0),
            output_tokens=int(usage.get("completion_tokens") or 0),
        )

    def counts(self) -> dict[str, int]:
        return {
            "input_tokens": self.input_tokens,
            "cached_input_tokens": min(self.cached_input_tokens, self.input_tokens),
            "output_tokens": self.output_tokens,
        }


@dataclass(frozen=True)
class Reservation:
    """Budget held for one call; carries what settlement and the spend gauges need.

    A turn calls `ensure_active` (no I/O while active), `price_for`, `reserve` (one conditional UpdateItem),
    the provider, then writes `settlement_operations` in the transaction that stores its messages (or calls
    `release` when the call failed), then `emit_turn_metrics`. Periods are UTC calendar months and days.
    """

    tenant_id: str
    request_id: str
    amount_micros: int
    tokens: int = 0
    month: str = ""  # yyyy-mm of the counter holding it
    day: str = ""  # dd
    month_spent_micros: int = 0  # settled spend of the month / day when it was made
    day_spent_micros: int = 0
    requests: int = 1  # 0: a call that is not a user request (a summary), outside the request quota


# --- limits of a tenant, cached per container ---------------------------------------------------
_cache: dict[str, tuple[str, float, TenantLimits]] = {}
_cache_lock = threading.Lock()


def tenant_limits(tenant: Tenant) -> TenantLimits:
    """The tenant's LIMITS item, re-read when the profile's updated_at moves or after LIMITS_CACHE_SECONDS."""
    now = time.monotonic()
    with _cache_lock:
        cached = _cache.get(tenant.id)
    if cached and cached[0] == tenant.updated_at and now - cached[1] < LIMITS_CACHE_SECONDS:
        return cached[2]
    config = stores().usage.limits(tenant.id)
    with _cache_lock:
        _cache[tenant.id] = (tenant.updated_at, now, config)
    return config


def forget(tenant_id: str | None = None) -> None:
    with _cache_lock:
        if tenant_id is None:
            _cache.clear()
        else:
            _cache.pop(tenant_id, None)


# --- checks before the call ---------------------------------------------------------------------
def _refusal(code: str, param: str, message: str, resets_at: datetime, now: datetime) -> LimitExceeded:
    retry_after = max(1, int((resets_at - now).total_seconds()))
    # OpenAI SDKs retry a 429 unless told not to; a used-up budget will not come back in seconds.
    headers = {"x-should-retry": "false", "retry-after": str(retry_after)}
    return LimitExceeded(message, param=param, code=code, headers=headers)


def ensure_active(tenant: Tenant) -> None:
    """Refuse a suspended tenant; a suspension by a limit's alarm is answered naming it and its reset."""
    if tenant.active:
        return
    for hold in tenant_limits(tenant).holds.values():
        if hold.message == tenant.status_reason:
            resets_at = datetime.fromisoformat(hold.resets_at.replace("Z", "+00:00"))
            raise _refusal(hold.code, hold.param, f"This tenant is suspended: {hold.message}", resets_at, utc())
    raise TenantSuspended(
        f"This tenant is suspended: {tenant.status_reason or 'no reason given'} (since {tenant.status_since}).",
        code="tenant_suspended",
    )


def model_price(config: TenantLimits, model: str) -> ModelPrice | None:
    """The tenant's price for `model` (operator overrides first); a tenant with a budget needs one."""
    price = resolve_price(model, config.prices)
    if price is None and config.effective.has_budget:
        raise InvalidRequest(
            f"Model '{model}' has no price in Atende's price table (version {PRICE_TABLE_VERSION}) and this "
            "tenant has a spend budget, so it cannot be used. Choose a priced model or ask the operator to add "
            "a price override for it.",
            param="model",
            code="model_not_priced",
        )
    return price


def price_for(tenant: Tenant, model: str, *, strict: bool = True) -> ModelPrice | None:
    """Before a call (`strict`): refuse an unpriced model for a budgeted tenant. After it: just the price."""
    config = tenant_limits(tenant)
    return model_price(config, model) if strict else resolve_price(model, config.prices)


def turn_cost(price: ModelPrice | None, usage: Usage) -> int:
    """Price x reported usage in micro-dollars (cached input at its own rate, rounded up once)."""
    if price is None:
        return 0
    return cost_micros(price, **usage.counts())


def caps_for(limits: Limits, amount: int, tokens: int, requests: int = 1) -> Caps:
    """What each counter may hold before this reservation (negative: the request alone is too big)."""

    def room(limit: int | None, need: int) -> int | None:
        return None if limit is None else limit - need

    return Caps(
        month_micros=room(limits.monthly_budget_micros, amount),
        day_micros=room(limits.daily_budget_micros, amount),
        tokens=room(limits.monthly_token_quota, max(tokens, 1)),
        requests=room(limits.monthly_request_quota, requests) if requests else None,
    )


def refusal_for(limits: Limits, counter: dict[str, Any], amount: int, tokens: int, moment: datetime) -> LimitExceeded:
    """Which limit refused a reservation, from the counter as it was; the monthly ones are named first."""
    _, dd = periods(moment)
    month_at, day_at = month_reset(moment), day_reset(moment)
    reset = f"It resets at {iso(month_at)}."
    committed, day_committed = int(counter.get("committed", 0)), int(counter.get(f"dc_{dd}", 0))
    tokens_held, requests = int(counter.get("committed_tokens", 0)), int(counter.get("requests", 0))
    budget = limits.monthly_budget_micros
    if budget is not None and committed + amount > budget:
        return _refusal(
            "monthly_budget_exceeded",
            "monthly_budget_usd",
            _budget_message("monthly", budget, committed, amount) + f" {reset}",
            month_at,
            moment,
        )
    quota = limits.monthly_token_quota
    if quota is not None and tokens_held + max(tokens, 1) > quota:
        message = f"The monthly token quota of {quota} tokens is used up ({tokens_held} used or held by calls in "
        message += f"progress; this request may use up to {tokens}). {reset}"
        return _refusal("monthly_token_quota_exceeded", "monthly_token_quota", message, month_at, moment)
    quota = limits.monthly_request_quota
    if quota is not None and requests + 1 > quota:
        message = f"The monthly request quota of {quota} requests is used up. {reset}"
        return _refusal("monthly_request_quota_exceeded", "monthly_request_quota", message, month_at, moment)
    budget = limits.daily_budget_micros or 0
    message = _budget_message("daily", budget, day_committed, amount) + f" It resets at {iso(day_at)}."
    return _refusal("daily_budget_exceeded", "daily_budget_usd", message, day_at, moment)


def _budget_message(period: str, budget: int, committed: int, amount: int) -> str:
    if amount > budget:
        return (
            f"This request may cost up to {usd_text(amount)} USD, more than the whole {period} budget of "
            f"{usd_text(budget)} USD; lower max_tokens or raise the budget."
        )
    return (
        f"The {period} budget of {usd_text(budget)} USD is used up ({usd_text(committed)} USD spent or held by "
        f"calls in progress; this request may cost up to {usd_text(amount)} USD)."
    )


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


def settle(reservation: Reservation, cost: int, usage: Usage, *, bot_id: str, model: str) -> None:
    """Settle a reservation on its own (a call whose result is not stored with a turn, like a summary), then
    emit its metrics. The reservation is given back if the settlement cannot be written."""
    try:
        stores().usage.transact(settlement_operations(reservation, cost, usage, bot_id=bot_id, model=model))
    except Exception:
        release(reservation)  # conditional: a no-op if the settlement did land
        raise
    emit_turn_metrics(
        reservation.tenant_id, bot_id, model, cost, usage, reservation=reservation, requests=reservation.requests
    )


def release(reservation: Reservation) -> None:
    """Give back a reservation whose call failed before any usage was billed."""
    r = reservation
    stores().usage.release(
        r.tenant_id, r.month, r.day, r.request_id, amount=r.amount_micros, tokens=r.tokens, requests=r.requests
    )


def record_unbilled_turn(tenant: Tenant, *, bot_id: str, model: str, refused: bool) -> None:
    """Count a turn answered without calling the model: one UpdateItem on today's report, and its metric.

    A zero-cost request (an instant answer, a handoff, a disabled bot) counts in `requests`; with `refused`, a
    turn moderation refused counts in `refused`, as a limit's refusal does. Both per bot and per model. The
    month counter is left alone: the monthly request quota counts the requests that reach a model.
    """
    month, dd = periods(utc())
    field = "refused" if refused else "requests"
    stores().usage.count(tenant.id, f"{month}-{dd}", field, bot_id=bot_id, model=model)
    emit_turn_metrics(tenant, bot_id, model, refused=refused)


def price_version() -> str:
    return PRICE_TABLE_VERSION
