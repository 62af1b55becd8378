"""The dashboard and alarms in template.yaml read only metrics that the code emits (names found in the source)."""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devtools.template import load_template

ROOT = Path(__file__).resolve().parents[2]
SOURCES = (ROOT / "layers" / "core" / "atende", ROOT / "functions")
NAMESPACE = "Atende"
# The metric-name arguments of the EMF helpers: `_record(..., counts={...}, milliseconds={...})` and
# Powertools' `add_metric(name=...)`, wherever the helpers live.
METRIC_KEYWORDS = {"counts", "milliseconds"}
SEARCH_RE = re.compile(r"SEARCH\('\{" + NAMESPACE + r"[^}]*\}[^']*MetricName=\\?\"(\w+)\\?\"")

type Scope = ast.FunctionDef | ast.AsyncFunctionDef | ast.Module


def _text(node: ast.expr | None) -> Iterator[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        yield node.value


def _assignments(name: str, scope: Scope) -> Iterator[tuple[ast.expr, ast.expr]]:
    """(target, value) of every `name = ...` and `name[key] = ...` in the scope."""
    for statement in ast.walk(scope):
        if isinstance(statement, ast.Assign):
            for target in statement.targets:
                if isinstance(target, ast.Name | ast.Subscript):
                    holder = target.value if isinstance(target, ast.Subscript) else target
                    if isinstance(holder, ast.Name) and holder.id == name:
                        yield target, statement.value


def _names_in(node: ast.expr | None, scope: Scope) -> Iterator[str]:
    """The string keys a metrics argument can hold: a dict literal, a name bound to one in the same function (keys
    added later included), a dict comprehension over literal (name, value) pairs, and `a or b`, `a if c else b`."""
    match node:
        case ast.Dict(keys=keys):
            for key in keys:
                yield from _text(key)
        case ast.DictComp(generators=[ast.comprehension(iter=source), *_]):
            literals = [value for _, value in _assignments(source.id, scope)] if isinstance(source, ast.Name) else []
            for literal in literals or [source]:
                for pair in literal.elts if isinstance(literal, ast.Tuple | ast.List) else []:
                    if isinstance(pair, ast.Tuple | ast.List) and pair.elts:
                        yield from _text(pair.elts[0])
        case ast.BoolOp(values=values):
            for value in values:
                yield from _names_in(value, scope)
        case ast.IfExp(body=body, orelse=orelse):
            yield from _names_in(body, scope)
            yield from _names_in(orelse, scope)
        case ast.Name(id=name):
            for target, value in _assignments(name, scope):
                yield from _text(target.slice) if isinstance(target, ast.Subscript) else _names_in(value, scope)


def emitted_metric_names() -> set[str]:
    """Every metric name the code passes to an EMF helper, found by reading the source (no import)."""
    names: set[str] = set()
    for folder in SOURCES:
        for path in sorted(folder.rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            scopes: list[Scope] = [tree]
            scopes += [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
            for scope in scopes:
                for call in (n for n in ast.walk(scope) if isinstance(n, ast.Call)):
                    for keyword in call.keywords:
                        if keyword.arg in METRIC_KEYWORDS:
                            names.update(_names_in(keyword.value, scope))
                        is_add_metric = isinstance(call.func, ast.Attribute) and call.func.attr == "add_metric"
                        if is_add_metric and keyword.arg == "name" and isinstance(keyword.value, ast.Constant):
                            names.add(str(keyword.value.value))
    return names


def _dashboard_metric_names(body: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(widget title, metric name) for every metric of our namespace a dashboard widget reads."""
    for widget in body["widgets"]:
        properties = widget.get("properties", {})
        for row in properties.get("metrics", []):
            title = properties.get("title", "?")
            if row and row[0] == NAMESPACE:
                yield title, row[1]
            for item in row:
                if isinstance(item, dict) and "expression" in item:
                    yield from ((title, name) for name in SEARCH_RE.findall(item["expression"]))


@pytest.fixture(scope="module")
def resources() -> dict[str, Any]:
    return load_template(ROOT / "template.yaml")["Resources"]


def test_the_source_scan_finds_the_turn_spend_and_moderation_metrics() -> None:
    emitted = emitted_metric_names()
    for name in ("CostMicros", "Requests", "Refused", "UpstreamLatency", "MonthToDateCostMicros", "ModerationChecks"):
        assert name in emitted, name


def test_every_dashboard_metric_is_emitted_by_the_code(resources: dict[str, Any]) -> None:
    body = json.loads(resources["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"])
    read = list(_dashboard_metric_names(body))
    assert len(read) > 5  # the scan of the dashboard works
    emitted = emitted_metric_names()
    missing = sorted({f"{name} (widget {title!r})" for title, name in read if name not in emitted})
    assert not missing, f"the dashboard reads metrics no code emits: {missing}"


def test_every_alarm_on_our_namespace_watches_an_emitted_metric(resources: dict[str, Any]) -> None:
    emitted = emitted_metric_names()
    for logical_id, resource in resources.items():
        if resource["Type"] != "AWS::CloudWatch::Alarm":
            continue
        props = resource["Properties"]
        stats = [m["MetricStat"]["Metric"] for m in props.get("Metrics", []) if "MetricStat" in m]
        for metric in [props, *stats]:
            if metric.get("Namespace") == NAMESPACE:
                assert metric["MetricName"] in emitted, (logical_id, metric["MetricName"])
