"""The limits function's minute schedule: sweep expired reservations and refresh every spend gauge."""

from __future__ import annotations

from datetime import timedelta

from atende.billing.metrics import emit_gauges, emit_global_gauge
from atende.billing.periods import periods, utc
from atende.platform.observability import logger
from atende.store import stores


def tick(now: float | None = None) -> dict[str, int]:
    """The limits function's schedule (every minute): sweep expired reservations, refresh the spend gauges.

    Gauges go out for tenants with spend this month or a budget (so a new period brings their alarms back to
    OK), and the global gauge sums today's spend of every tenant.
    """
    moment = utc(now)
    month, dd = periods(moment)
    store = stores().usage
    tenants = stores().tenants.list()
    ids = [t.id for t in tenants]
    counters, configs = store.month_counters(ids, month), store.limits_of(ids)
    # Reservations made just before midnight on the last day of a month live in that month's counter.
    just_rolled_over = dd == "01" and moment.hour == 0 and moment.minute < 15
    last_month = periods(moment - timedelta(days=1))[0] if just_rolled_over else ""
    previous = store.month_counters(ids, last_month) if last_month else {}
    swept = reported = global_day = 0
    for tenant in tenants:
        counter = counters.get(tenant.id, {})
        swept += store.sweep(tenant.id, month, counter, moment.timestamp())
        if last_month:
            swept += store.sweep(tenant.id, last_month, previous.get(tenant.id, {}), moment.timestamp())
        day_spent = int(counter.get(f"ds_{dd}", 0))
        global_day += day_spent
        if counter or (tenant.id in configs and configs[tenant.id].effective.has_budget):
            emit_gauges(tenant.id, int(counter.get("spent", 0)), day_spent)
            reported += 1
    emit_global_gauge(global_day)
    if swept:
        logger.info("swept expired reservations", extra={"swept": swept})
    return {"tenants": len(tenants), "gauges": reported, "swept": swept, "global_day_to_date_micros": global_day}
