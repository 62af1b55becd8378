"""Soft-limit state: whether a tenant's spend reached `soft_limit_percent` of a budget, read from its counters."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

from atende.billing.periods import periods, utc
from atende.billing.pricing import micros_to_usd
from atende.models.limits import Limits, SoftLimitState
from atende.platform.settings import get_settings
from atende.store import stores


def soft_limit_state(tenant_id: str, limits: Limits, moment: datetime | None = None) -> SoftLimitState | None:
    """None when the tenant has no soft limit (or no budget for it to apply to); one consistent BatchGetItem."""
    percent = limits.soft_limit_percent
    if percent is None or not limits.has_budget:
        return None
    month, dd = periods(moment or utc())
    daily = limits.daily_budget_micros is not None
    counters = stores().counters.shards_of(
        tenant_id, get_settings().budget_counter_shards, month, f"{month}-{dd}" if daily else None
    )
    spent = {
        "monthly": sum(int(c.get("spent", 0)) for c in counters.values()),
        "daily": sum(int(c.get("day_spent", 0)) for c in counters.values()),
    }
    budgets: dict[Literal["monthly", "daily"], int | None] = {
        "monthly": limits.monthly_budget_micros,
        "daily": limits.daily_budget_micros,
    }
    states = [_state(kind, percent, spent[kind], budget) for kind, budget in budgets.items() if budget is not None]
    return max(states, key=lambda s: (s.reached, s.spend_usd / s.limit_usd if s.limit_usd else Decimal(1)))


def _state(kind: Literal["monthly", "daily"], percent: int, spent: int, budget: int) -> SoftLimitState:
    limit = budget * percent // 100
    return SoftLimitState(
        reached=spent >= limit,
        budget=kind,
        percent=percent,
        spend_usd=micros_to_usd(spent),
        limit_usd=micros_to_usd(limit),
        budget_usd=micros_to_usd(budget),
    )
