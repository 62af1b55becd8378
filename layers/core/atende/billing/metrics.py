"""Usage metrics of billing in EMF: a turn's counters and latencies per stage, the spend gauges the alarms watch."""

from __future__ import annotations

from atende.billing.pricing import PRICE_TABLE_VERSION
from atende.billing.values import Usage
from atende.models.tenants import Tenant
from atende.platform.metrics import record
from atende.platform.settings import get_settings


def emit_gauges(tenant_id: str, month_to_date_micros: int, day_to_date_micros: int) -> None:
    """The spend gauges the tenant's alarms watch (Stage+Tenant): the only metrics each tenant adds.

    The dashboard's month-to-date by tenant reads them too.
    """
    record(
        {"Stage": get_settings().stage, "Tenant": tenant_id},
        counts={"MonthToDateCostMicros": month_to_date_micros, "DayToDateCostMicros": day_to_date_micros},
    )


def emit_global_gauge(day_to_date_micros: int) -> None:
    """All tenants' spend today, alone in its record with only `Stage`: what the global alarm matches."""
    record({"Stage": get_settings().stage}, counts={"GlobalDayToDateCostMicros": day_to_date_micros})


def emit_turn_metrics(
    tenant: Tenant | str,
    bot_id: str | None = None,
    model: str | None = None,
    cost: int = 0,
    usage: Usage | None = None,
    *,
    anomaly: bool = False,
    refused: bool = False,
    requests: int = 1,
    upstream_seconds: float | None = None,
    overhead_seconds: float | None = None,
) -> None:
    """A turn's counters, dimension Stage only: a fixed number of metrics whatever the number of tenants.

    The tenant, bot and model ride as properties of the EMF line (not dimensions): per-tenant figures are Logs
    Insights queries over the chat function's log group (the dashboard's spend, requests and tokens by tenant).
    `upstream_seconds` is the provider call (retries and fallbacks included); `overhead_seconds` the rest of
    the turn, Atende's own time (the dashboard's GatewayOverhead).

    The spend gauges come from the limits function's schedule (every minute), read from the counters.
    `anomaly=True` counts a provider report above the reserved worst case (billed at the reservation).
    `refused=True` counts a turn a limit (or moderation) refused; `requests=0` bills spend that is not a user
    request (a summary).
    """
    tenant_id = tenant if isinstance(tenant, str) else tenant.id
    stage = {"Stage": get_settings().stage}
    metadata = {"tenant": tenant_id, "bot": bot_id, "model": model, "price_version": PRICE_TABLE_VERSION}
    if refused:
        record(stage, counts={"Refused": 1}, metadata=metadata)
        return
    counts = usage.counts() if usage is not None else {}
    figures = {
        "CostMicros": cost,
        "InputTokens": counts.get("input_tokens", 0),
        "CachedInputTokens": counts.get("cached_input_tokens", 0),
        "OutputTokens": counts.get("output_tokens", 0),
    }
    if requests:
        figures["Requests"] = requests
    if anomaly:
        figures["UsageAnomalies"] = 1
    timings = (("UpstreamLatency", upstream_seconds), ("GatewayOverhead", overhead_seconds))
    latency = {name: seconds * 1000 for name, seconds in timings if seconds}
    record(stage, counts=figures, milliseconds=latency or None, metadata=metadata)
