"""EMF metric records: the one sink every record goes through (stdout on Lambda) and how a record is built."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit
from aws_lambda_powertools.metrics.functions import is_metrics_disabled

from atende.platform.observability import METRICS_NAMESPACE

MetricsSink = Callable[[dict[str, Any]], None]


def _print_record(entry: dict[str, Any]) -> None:
    print(json.dumps(entry, separators=(",", ":")))  # Lambda ships EMF lines on stdout to CloudWatch


_sink: MetricsSink = _print_record


def set_metrics_sink(sink: MetricsSink | None) -> None:
    """Where EMF records go: stdout on Lambda (the default); the local stack's alarm evaluator locally."""
    global _sink  # one process-wide destination, set once by the local stack
    _sink = sink or _print_record


def forward(entry: dict[str, Any]) -> None:
    """Send an already-built record to the sink (the local stack forwards what its worker processes emit)."""
    _sink(entry)


def record(
    *dimension_sets: dict[str, str],
    counts: dict[str, int] | None = None,
    milliseconds: dict[str, float] | None = None,
    metadata: dict[str, Any] | None = None,
) -> None:
    """One EMF record built (and validated) by a per-call EphemeralMetrics: safe with handlers in threads.

    No implicit `service` dimension, so every function counts into the same series. Each metric has one value,
    written as a number rather than Powertools' one-item list: Logs Insights reads it as the field `CostMicros`
    (it flattens a list into `CostMicros.0`), which the dashboard's per-tenant queries sum.
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
    entry = dict(emf.serialize_metric_set())
    for name in (*(counts or {}), *(milliseconds or {})):
        if isinstance(values := entry[name], list) and len(values) == 1:
            entry[name] = values[0]
    _sink(entry)
