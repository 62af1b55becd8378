"""The limits function's minute schedule: sweep expired reservations, rebalance shards, refresh spend gauges."""

from __future__ import annotations

from datetime import datetime, timedelta

from atende.billing.metrics import emit_gauges, emit_global_gauge
from atende.billing.periods import from_iso, periods, utc
from atende.billing.reservations import sweep_tenant
from atende.billing.shares import rebalance
from atende.platform.observability import logger
from atende.platform.settings import get_settings
from atende.store import stores

# Calls admitted under the old limits (turns in flight when they changed, a container's cached limits) may still
# land after a change: shards are rebalanced on the minute this long after it.
REBALANCE_AFTER_CHANGE_SECONDS = 300


def tick(now: float | None = None) -> dict[str, int]:
    """The limits function's schedule (every minute): sweep expired reservations, rebalance the counter shards
    of tenants whose limits changed in the last minutes, refresh the spend gauges.

    Gauges go out for tenants with spend this month or a budget (so a new period brings their alarms back to
    OK), and the global gauge sums today's spend of every tenant.
    """
    moment = utc(now)
    month, dd = periods(moment)
    shards = get_settings().budget_counter_shards
    tenants = stores().tenants.list()
    ids = [t.id for t in tenants]
    configs = stores().usage.limits_of(ids)
    months = stores().counters.months_of(ids, shards, month)
    # Reservations made just before a month ended stay on that month's shards until they are settled or swept.
    previous = periods(moment - timedelta(days=1))[0]
    if previous != month:
        for tenant_id, total in stores().counters.months_of(ids, shards, previous).items():
            if total["committed"] > total["spent"]:
                months.setdefault(tenant_id, {"committed": 0, "spent": 0})["committed"] += 1
    days = stores().usage.day_spent_of(ids, shards, f"{month}-{dd}")
    swept = reported = global_day = rebalanced = 0
    for tenant in tenants:
        config = configs.get(tenant.id)
        if config is not None and _changed_lately(config.updated_at, moment):
            rebalanced += rebalance(tenant.id, config.effective, moment.timestamp())
        total = months.get(tenant.id, {"committed": 0, "spent": 0})
        if total["committed"] > total["spent"]:  # something is held: a crashed call's reservation, maybe
            swept += sweep_tenant(tenant.id, moment.timestamp())
        day_spent = days.get(tenant.id, 0)
        global_day += day_spent
        if tenant.id in months or (config is not None and config.effective.has_budget):
            emit_gauges(tenant.id, total["spent"], day_spent)
            reported += 1
    emit_global_gauge(global_day)
    if swept:
        logger.info("swept expired reservations", extra={"swept": swept})
    return {
        "tenants": len(tenants),
        "gauges": reported,
        "swept": swept,
        "rebalanced": rebalanced,
        "global_day_to_date_micros": global_day,
    }


def _changed_lately(updated_at: str | None, moment: datetime) -> bool:
    if not updated_at:
        return False
    return (moment - from_iso(updated_at)).total_seconds() <= REBALANCE_AFTER_CHANGE_SECONDS
