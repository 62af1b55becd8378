"""Limits and usage for the config API: a tenant's own limits, the operator's caps, their alarms, usage reports."""

from __future__ import annotations

import re
from datetime import date

from botocore.exceptions import BotoCoreError, ClientError

from atende.access.keys import Caller
from atende.billing import alarms, holds, shares, usage_plans
from atende.billing.periods import day_reset, iso, month_reset, periods, utc
from atende.billing.policy import forget
from atende.billing.pricing import PRICE_TABLE_VERSION, micros_to_usd
from atende.billing.soft_limit import soft_limit_state
from atende.models.limits import (
    Limits,
    LimitsSpec,
    LimitsValues,
    LimitsView,
    TenantLimits,
    UsagePlanInfo,
    UsageReport,
    UsageTotals,
)
from atende.platform.errors import InvalidRequest, UpstreamError
from atende.platform.settings import get_settings
from atende.store import stores
from atende.store.table import AuditEntry
from atende.store.usage_report import add_up

_PERIOD = re.compile(r"^(\d{4})-(\d{2})(?:-(\d{2}))?$")


def get_limits(caller: Caller, tenant_id: str) -> LimitsView:
    caller.require_admin_of(tenant_id)
    stores().tenants.require(tenant_id)
    return _view(tenant_id, stores().usage.limits(tenant_id, consistent=True))


def put_limits(caller: Caller, tenant_id: str, body: LimitsSpec, *, operator: bool) -> LimitsView:
    """Store the tenant admin's limits (or the operator's caps), then bring alarms and usage plan in line.

    A PUT replaces the whole set: a field left out means no limit on that side. Holds of a budget that no
    longer exists are lifted here, since its alarm is deleted and will never report OK.
    """
    store = stores().usage
    stores().tenants.require(tenant_id)
    audit = AuditEntry(
        tenant_id,
        caller.key_prefix or "operator",
        "limits.operator" if operator else "limits.update",
        f"tenant/{tenant_id}/limits",
        sorted(body.model_dump(exclude_none=True)),
    )
    store.put_spec(tenant_id, "operator" if operator else "tenant", body, audit)
    config = store.limits(tenant_id, consistent=True)
    effective = config.effective
    try:
        alarms.sync_alarms(tenant_id, effective)
        plan_id, key_id = usage_plans.sync_usage_plan(tenant_id, effective, config)
    except (ClientError, BotoCoreError) as error:
        raise UpstreamError(
            "The limits were saved, but their CloudWatch alarms or usage plan could not be updated "
            f"({type(error).__name__}). Send the same PUT again.",
            code="limits_sync_failed",
        ) from error
    if (plan_id, key_id) != (config.usage_plan_id, config.usage_key_id):
        store.set_usage_plan(tenant_id, plan_id, key_id)
    budgets = {"monthly_budget": effective.monthly_budget_micros, "daily_budget": effective.daily_budget_micros}
    for cause, budget in budgets.items():
        if budget is None and cause in config.holds:
            holds.lift_hold(tenant_id, cause)
    forget(tenant_id)
    shares.rebalance(tenant_id, effective)  # spend made under no or other limits may sit past the new shares
    return _view(tenant_id, store.limits(tenant_id, consistent=True))


def _view(tenant_id: str, config: TenantLimits) -> LimitsView:
    moment = utc()
    effective = config.effective
    prices = {
        model: {
            "input_usd_per_million": override.input_usd_per_million,
            "cached_input_usd_per_million": override.cached_input_usd_per_million,
            "output_usd_per_million": override.output_usd_per_million,
        }
        for model, override in config.operator.price_overrides.items()
    }
    plan = UsagePlanInfo(id=config.usage_plan_id, enforced=False) if config.usage_plan_id else None
    return LimitsView(
        tenant_id=tenant_id,
        limits=_values(config.tenant),
        operator_caps=_values(config.operator),
        effective=effective.view(),
        price_overrides=prices,
        alarms=alarms.alarm_names(tenant_id, effective),
        usage_plan=plan,
        suspended_by=sorted(config.holds),
        soft_limit=soft_limit_state(tenant_id, effective, moment),
        month_resets_at=iso(month_reset(moment)),
        day_resets_at=iso(day_reset(moment)),
        updated_at=config.updated_at,
    )


def _values(spec: LimitsSpec) -> LimitsValues:
    return Limits.from_spec(spec).view()


def parse_period(period: str | None) -> str:
    """'yyyy-mm' or 'yyyy-mm-dd' (UTC), the current month when omitted."""
    if not period:
        return periods(utc())[0]
    found = _PERIOD.match(period.strip())
    try:
        if found is None:
            raise ValueError(period)
        date(int(found[1]), int(found[2]), int(found[3] or 1))
    except ValueError:
        raise InvalidRequest(
            "period must be a month (YYYY-MM) or a day (YYYY-MM-DD), in UTC.", param="period", code="invalid_period"
        ) from None
    return period.strip()


def get_usage(tenant_id: str, period: str | None) -> UsageReport:
    """Spend, tokens, requests and refusals of a month or a day, with breakdowns by day, bot and model."""
    period = parse_period(period)
    figures = add_up(stores().usage.usage_items(tenant_id, period))
    counters = stores().counters.shards_of(tenant_id, get_settings().budget_counter_shards, period[:7])
    held = sum(int(c.get("committed", 0)) - int(c.get("spent", 0)) for c in counters.values())
    return UsageReport(
        tenant_id=tenant_id,
        period=period,
        price_table_version=PRICE_TABLE_VERSION,
        reserved_micros=max(0, held),
        soft_limit=soft_limit_state(tenant_id, stores().usage.limits(tenant_id, consistent=True).effective),
        by_day={k: _totals(v) for k, v in sorted(figures.by_day.items())},
        by_bot={k: _totals(v) for k, v in sorted(figures.by_bot.items())},
        by_model={k: _totals(v) for k, v in sorted(figures.by_model.items())},
        **_totals(figures.totals).model_dump(),
    )


def _totals(figures: dict[str, int]) -> UsageTotals:
    return UsageTotals(
        spend_usd=micros_to_usd(figures["spent"]),
        spend_micros=figures["spent"],
        input_tokens=figures["input_tokens"],
        cached_input_tokens=figures["cached_input_tokens"],
        output_tokens=figures["output_tokens"],
        requests=figures["requests"],
        refused=figures["refused"],
    )
