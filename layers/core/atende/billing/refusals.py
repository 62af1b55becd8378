"""Why a budget refused a call: the room each counter has, and the 429 that names the limit and its reset."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from atende.billing.periods import day_reset, iso, month_reset, periods, usd_text
from atende.models.limits import Limits
from atende.platform.errors import LimitExceeded
from atende.store.counters import Caps


def refusal(code: str, param: str, message: str, resets_at: datetime, now: datetime) -> LimitExceeded:
    retry_after = max(1, int((resets_at - now).total_seconds()))
    # OpenAI SDKs retry a 429 unless told not to; a used-up budget will not come back in seconds.
    headers = {"x-should-retry": "false", "retry-after": str(retry_after)}
    return LimitExceeded(message, param=param, code=code, headers=headers)


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
    """Which limit refused a reservation, from the counters as they were; the monthly ones are named first.

    When no limit looks passed in `counter` (it was read while other calls moved it), the first limit the
    tenant has is named: one of them refused the call.
    """
    _, dd = periods(moment)
    month_at, day_at = month_reset(moment), day_reset(moment)
    reset = f"It resets at {iso(month_at)}."
    committed, day_committed = int(counter.get("committed", 0)), int(counter.get(f"dc_{dd}", 0))
    tokens_held, requests = int(counter.get("committed_tokens", 0)), int(counter.get("requests", 0))
    candidates: list[tuple[bool, Callable[[], LimitExceeded]]] = []
    if (budget := limits.monthly_budget_micros) is not None:
        message = _budget_message("monthly", budget, committed, amount) + f" {reset}"
        candidates.append(
            (
                committed + amount > budget,
                lambda: refusal("monthly_budget_exceeded", "monthly_budget_usd", message, month_at, moment),
            )
        )
    if (token_quota := limits.monthly_token_quota) is not None:
        text = f"The monthly token quota of {token_quota} tokens is used up ({tokens_held} used or held by calls "
        text += f"in progress; this request may use up to {tokens}). {reset}"
        candidates.append(
            (
                tokens_held + max(tokens, 1) > token_quota,
                lambda: refusal("monthly_token_quota_exceeded", "monthly_token_quota", text, month_at, moment),
            )
        )
    if (request_quota := limits.monthly_request_quota) is not None:
        note = f"The monthly request quota of {request_quota} requests is used up. {reset}"
        candidates.append(
            (
                requests + 1 > request_quota,
                lambda: refusal("monthly_request_quota_exceeded", "monthly_request_quota", note, month_at, moment),
            )
        )
    day_budget = limits.daily_budget_micros or 0
    daily = _budget_message("daily", day_budget, day_committed, amount) + f" It resets at {iso(day_at)}."
    candidates.append(
        (
            limits.daily_budget_micros is not None and day_committed + amount > day_budget,
            lambda: refusal("daily_budget_exceeded", "daily_budget_usd", daily, day_at, moment),
        )
    )
    passed = [build for exceeded, build in candidates if exceeded]
    return (passed or [build for _, build in candidates])[0]()


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
