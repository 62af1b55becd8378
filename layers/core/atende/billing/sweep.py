"""The limits function's minute schedule: sweep expired reservations and refresh every spend gauge."""

from __future__ import annotations

from atende.billing.metrics import emit_gauges, emit_global_gauge
from atende.billing.periods import periods, utc
from atende.billing.reservations import sweep_tenant
from atende.platform.observability import logger
from atende.platform.settings import get_settings
from atende.store import stores


def tick(now: float | None = None) -> dict[str, int]:
    """The limits function's schedule (every minute): sweep expired reservations, refresh the spend gauges.

    Gauges go out for tenants with spend this month or a budget (so a new period brings their alarms back to
    OK), and the global gauge sums today's spend of every tenant.
    """
    moment = utc(now)
    month, dd = periods(moment)
    shards = get_settings().budget_counter_shards
    tenants = stores().tenants.list()
    configs = stores().usage.limits_of([t.id for t in tenants])
    swept = reported = global_day = 0
    for tenant in tenants:
        swept += sweep_tenant(tenant.id, moment.timestamp())
        counters = stores().counters.shards_of(tenant.id, shards, month)
        month_spent = sum(int(counter.get("spent", 0)) for counter in counters.values())
        day_spent = sum(int(item.get("spent", 0)) for item in stores().usage.usage_items(tenant.id, f"{month}-{dd}"))
        global_day += day_spent
        if any(counters.values()) or (tenant.id in configs and configs[tenant.id].effective.has_budget):
            emit_gauges(tenant.id, month_spent, day_spent)
            reported += 1
    emit_global_gauge(global_day)
    if swept:
        logger.info("swept expired reservations", extra={"swept": swept})
    return {"tenants": len(tenants), "gauges": reported, "swept": swept, "global_day_to_date_micros": global_day}
