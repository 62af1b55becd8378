"""The dashboard and alarms read only what the code emits (read from the source), and tenants add only alarmed metrics.

Every (metric, dimension set) a record carries is a CloudWatch metric billed each month; with a `Tenant` dimension it
is one more per tenant. So only what a tenant's alarms watch carries `Tenant`; the dashboard's other per-tenant views
are Logs Insights queries over the EMF lines, whose properties (`tenant`, `bot`, `model`) are free.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from atende.billing import alarms
from atende.models.limits import Limits
from atende.platform.settings import Settings
from devtools.emitted_metrics import ROOT, EmittedRecord, deployment_series, emitted_records, per_tenant_series, series
from devtools.template import load_template

NAMESPACE = "Atende"
SEARCH_RE = re.compile(r"SEARCH\('\{" + NAMESPACE + r"((?:,\w+)*)\}[^']*MetricName=\"(\w+)\"")
# Logs Insights words that are not fields: commands, functions (followed by "("), and what follows `as`.
QUERY_WORDS = {
    "source",
    "filter",
    "stats",
    "by",
    "as",
    "sort",
    "asc",
    "desc",
    "limit",
    "fields",
    "and",
    "or",
    "not",
    "in",
}

type Series = tuple[str, frozenset[str]]


@pytest.fixture(scope="module")
def resources() -> dict[str, Any]:
    return load_template(ROOT / "template.yaml")["Resources"]


@pytest.fixture(scope="module")
def records() -> list[EmittedRecord]:
    return emitted_records()


@pytest.fixture(scope="module")
def dashboard(resources: dict[str, Any]) -> dict[str, Any]:
    return json.loads(resources["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"])


def _dashboard_series(body: dict[str, Any]) -> Iterator[tuple[str, Series]]:
    """(widget title, (metric, dimension names)) for every metric of our namespace a metric widget reads."""
    for widget in body["widgets"]:
        properties = widget.get("properties", {})
        title = properties.get("title", "?")
        for row in properties.get("metrics", []):
            if row and row[0] == NAMESPACE:
                labels = [item for item in row[2:] if isinstance(item, str)]
                yield title, (row[1], frozenset(labels[::2]))
            for item in row:
                if isinstance(item, dict) and "expression" in item:
                    for schema, name in SEARCH_RE.findall(item["expression"]):
                        yield title, (name, frozenset(schema.strip(",").split(",")) - {""})


def _tenant_alarm_series() -> set[Series]:
    """What a tenant's alarms watch, with every budget and a soft limit set."""
    limits = Limits(monthly_budget_micros=10_000_000, daily_budget_micros=1_000_000, soft_limit_percent=80)
    return {
        (d["MetricName"], frozenset(dimension["Name"] for dimension in d["Dimensions"]))
        for d in alarms.alarm_definitions("t1", limits)
    }


def _template_alarm_series(resources: dict[str, Any]) -> Iterator[tuple[str, Series]]:
    for logical_id, resource in resources.items():
        if resource["Type"] != "AWS::CloudWatch::Alarm":
            continue
        props = resource["Properties"]
        stats = [m["MetricStat"]["Metric"] for m in props.get("Metrics", []) if "MetricStat" in m]
        for metric in [props, *stats]:
            if metric.get("Namespace") == NAMESPACE:
                dimensions = frozenset(d["Name"] for d in metric.get("Dimensions", []))
                yield logical_id, (metric["MetricName"], dimensions)


def _log_widgets(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [widget["properties"] for widget in body["widgets"] if widget["type"] == "log"]


def _query_fields(query: str) -> set[str]:
    """The fields a Logs Insights query names: words that are not commands, functions, aliases or quoted text."""
    body = re.sub(r"'[^']*'|\"[^\"]*\"", "", query)
    aliases = set(re.findall(r"\bas\s+(\w+)", body))
    words = set(re.findall(r"(?<![\w@.])([A-Za-z_]\w*)\b(?!\s*\()", body))
    return {word for word in words - aliases if word.lower() not in QUERY_WORDS}


@pytest.fixture(autouse=True)
def _settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(alarms, "get_settings", lambda: Settings(table_name="unit", stage="unit"))


def test_the_source_scan_finds_the_turn_spend_and_moderation_metrics(records: list[EmittedRecord]) -> None:
    emitted = {metric for metric, _ in series(records)}
    for name in ("CostMicros", "Requests", "Refused", "UpstreamLatency", "MonthToDateCostMicros", "ModerationChecks"):
        assert name in emitted, name
    assert all(record.where.startswith(("layers/", "functions/")) for record in records)


def test_every_dashboard_metric_is_emitted_with_its_dimensions(
    dashboard: dict[str, Any], records: list[EmittedRecord]
) -> None:
    read = list(_dashboard_series(dashboard))
    assert len(read) > 5  # the scan of the dashboard works
    emitted = series(records)
    missing = sorted(
        {f"{name} {sorted(dims)} (widget {title!r})" for title, (name, dims) in read if (name, dims) not in emitted}
    )
    assert not missing, f"the dashboard reads series no code emits: {missing}"


def test_every_alarm_on_our_namespace_watches_an_emitted_series(
    resources: dict[str, Any], records: list[EmittedRecord]
) -> None:
    emitted = series(records)
    watched = list(_template_alarm_series(resources)) + [("tenant alarm", s) for s in _tenant_alarm_series()]
    assert any(owner == "GlobalDailyBudgetAlarm" for owner, _ in watched)
    for owner, pair in watched:
        assert pair in emitted, (owner, pair)


def test_tenants_add_only_the_metrics_their_alarms_watch(records: list[EmittedRecord]) -> None:
    """Each (metric, dimension set) with `Tenant` is a metric per tenant (0.30 USD a month each): alarms only."""
    assert per_tenant_series(records) == _tenant_alarm_series()
    assert len(per_tenant_series(records)) == 2


def test_every_series_is_per_stage_or_per_stage_and_tenant(records: list[EmittedRecord]) -> None:
    """So the count of series is exact: no dimension with more values than one per deployment, or per tenant."""
    shapes = {dims for record in records for dims in record.dimension_sets}
    assert shapes <= {frozenset({"Stage"}), frozenset({"Stage", "Tenant"})}, shapes


def test_the_tenant_rides_as_a_property_on_every_record_without_the_dimension(records: list[EmittedRecord]) -> None:
    for record in records:
        if not any("Tenant" in dims for dims in record.dimension_sets) and record.properties:
            assert "tenant" in record.properties, record.where


def test_log_widgets_query_the_chat_functions_log_group(dashboard: dict[str, Any], resources: dict[str, Any]) -> None:
    widgets = _log_widgets(dashboard)
    assert len(widgets) == 3  # spend, requests and output tokens by tenant
    assert resources["ChatFunction"]["Properties"]["LoggingConfig"]["LogGroup"] == {"Ref": "ChatLogGroup"}
    for widget in widgets:
        assert re.findall(r"SOURCE '([^']*)'", widget["query"]) == ["${ChatLogGroup}"], widget["title"]


def test_log_widgets_name_only_fields_one_emitted_record_has(
    dashboard: dict[str, Any], records: list[EmittedRecord]
) -> None:
    for widget in _log_widgets(dashboard):
        fields = _query_fields(widget["query"])
        assert "tenant" in fields and len(fields) > 1, (widget["title"], fields)
        assert any(fields <= record.fields for record in records), (widget["title"], fields)


def test_the_query_reader_finds_fields_and_skips_the_rest() -> None:
    query = (
        "SOURCE '${ChatLogGroup}' | filter ispresent(CostMicros) and model != \"atende-handoff\""
        " | stats sum(CostMicros / 1000000) as usd by tenant, bin(5m)"
    )
    assert _query_fields(query) == {"CostMicros", "model", "tenant"}


def test_the_operations_page_states_the_metric_counts_the_code_has(records: list[EmittedRecord]) -> None:
    page = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    section = " ".join(page.split("## Metrics", 1)[1].split("\n|", 1)[0].split())
    assert f"`Stage` + `Tenant`, {len(per_tenant_series(records))} metrics" in section
    assert f"{len(deployment_series(records))} metrics for the deployment" in section
