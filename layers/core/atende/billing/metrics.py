"""Usage metrics in EMF: turn counters, spend gauges, moderation counts, and the one sink every record goes through."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit
from aws_lambda_powertools.metrics.functions import is_metrics_disabled

from atende.billing.pricing import PRICE_TABLE_VERSION
from atende.models.tenants import Tenant
from atende.platform.observability import METRICS_NAMESPACE
from atende.platform.settings import get_settings

if TYPE_CHECKING:  # limits imports this module; at run time only their attributes are read
    from atende.billing.budget import Reservation, Usage

MetricsSink = Callable[[dict[str, Any]], None]


def _print_record(record: dict[str, Any]) -> None:
    print(json.dumps(record, separators=(",", ":")))  # Lambda ships EMF lines on stdout to CloudWatch


_sink: MetricsSink = _print_record


def set_metrics_sink(sink: MetricsSink | None) -> None:
    """Where EMF records go: stdout on Lambda (the default); the local stack's alarm evaluator locally."""
    global _sink  # one process-wide destination, set once by the local stack
    _sink = sink or _print_record


def _record(
    *dimension_sets: dict[str, str],
    counts: dict[str, int] | None = None,
    milliseconds: dict[str, float] | None = None,
    metadata: dict[str, Any] | None = None,
) -> None:
    """One EMF record built (and validated) by a per-call EphemeralMetrics: safe with handlers in threads.

    No implicit `service` dimension, so every function counts into the same series.
    """
    if is_metrics_disabled():
        return
    emf = EphemeralMetrics(namespace=METRICS_NAMESPACE, service="")
    first, *more = dimension_sets
    for name, label in first.items():
        emf.add_dimension(name, label)
    for extra in more:
        emf.add_dimensions(**extra)
    for name, count in (counts or {}).items():
        emf.add_metric(name=name, unit=MetricUnit.Count, value=count)
    for name, duration in (milliseconds or {}).items():
        emf.add_metric(name=name, unit=MetricUnit.Milliseconds, value=duration)
    for key, value in (metadata or {}).items():
        if value is not None:
            emf.add_metadata(key, value)
    _sink(dict(emf.serialize_metric_set()))


def emit_gauges(tenant_id: str, month_to_date_micros: int, day_to_date_micros: int) -> None:
    """The spend gauges the tenant's alarms watch (Stage+Tenant) and the dashboard plots (Tenant)."""
    _record(
        {"Tenant": tenant_id},
        {"Stage": get_settings().stage, "Tenant": tenant_id},
        counts={"MonthToDateCostMicros": month_to_date_micros, "DayToDateCostMicros": day_to_date_micros},
    )


def emit_global_gauge(day_to_date_micros: int) -> None:
    """All tenants' spend today, alone in its record with only `Stage`: what the global alarm matches."""
    _record({"Stage": get_settings().stage}, counts={"GlobalDayToDateCostMicros": day_to_date_micros})


def emit_turn_metrics(
    tenant: Tenant | str,
    bot_id: str | None = None,
    model: str | None = None,
    cost: int = 0,
    usage: Usage | None = None,
    *,
    reservation: Reservation | None = None,
    refused: bool = False,
    requests: int = 1,
    upstream_seconds: float | None = None,
    overhead_seconds: float | None = None,
) -> None:
    """A turn's counters (dimension Tenant; bot and model ride as properties, not dimensions).

    `upstream_seconds` is the provider call (retries and fallbacks included); `overhead_seconds` the rest of
    the turn, Atende's own time (the dashboard's GatewayOverhead).

    Pass the turn's `reservation` to also emit the spend gauges (spend when it was reserved + this cost);
    the limits function's schedule refreshes them every minute regardless. `refused=True` counts a turn a
    limit (or moderation) refused; `requests=0` bills spend that is not a user request (a summary).
    """
    tenant_id = tenant if isinstance(tenant, str) else tenant.id
    metadata = {"bot": bot_id, "model": model, "price_version": PRICE_TABLE_VERSION}
    if refused:
        _record({"Tenant": tenant_id}, counts={"Refused": 1}, metadata=metadata)
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
    timings = (("UpstreamLatency", upstream_seconds), ("GatewayOverhead", overhead_seconds))
    latency = {name: seconds * 1000 for name, seconds in timings if seconds}
    _record({"Tenant": tenant_id}, counts=figures, milliseconds=latency or None, metadata=metadata)
    if reservation is not None:
        emit_gauges(tenant_id, reservation.month_spent_micros + cost, reservation.day_spent_micros + cost)


def emit_moderation(
    tenant_id: str, stage: str, *, checks: int, flagged: int, errors: int, blocked: int | None = None
) -> None:
    """One record per moderation decision; `stage` is the gate's (input, output) or `api` for the endpoints."""
    counts = {"ModerationChecks": checks, "ModerationFlagged": flagged, "ModerationErrors": errors}
    if blocked is not None:
        counts["ModerationBlocked"] = blocked
    _record({"Tenant": tenant_id, "Stage": stage}, counts=counts)
