"""The local stack's CloudWatch: EMF from the functions in, the alarms in moto evaluated, SNS notifications out."""

from __future__ import annotations

import ast
import json
import operator
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import boto3
from moto.cloudwatch.models import cloudwatch_backends

from atende.platform import metrics
from devtools.alarm_notifications import alarm_message, now_iso, sns_event
from devtools.aws_local import ACCOUNT, TEMPLATE, Resolver, function_name
from devtools.containers import Invoker
from devtools.strict_dynamodb.store import untrack_dynamodb_models
from devtools.template import load_template

# What the alarms read: raw datapoints younger than this (every alarm's Period times EvaluationPeriods is shorter:
# the template's 300 s, the tenants' 60 s; tests/integration/test_alarm_evaluator.py checks).
ALARM_WINDOW_SECONDS = 900
# What moto keeps for get-metric-statistics: one statistic set per series per evaluation round and minute, as
# CloudWatch stores standard-resolution data, for this long (one datum per datapoint grew ~2 KB a datapoint).
KEEP_SECONDS = 3600
Series = tuple[str, str, tuple[tuple[str, str], ...], str]  # namespace, name, dimensions, unit
_OPERATORS = {
    "GreaterThanOrEqualToThreshold": operator.ge,
    "GreaterThanThreshold": operator.gt,
    "LessThanThreshold": operator.lt,
    "LessThanOrEqualToThreshold": operator.le,
}
_MISSING = {"breaching": "ALARM", "notBreaching": "OK", "missing": "INSUFFICIENT_DATA"}
_ACTIONS = {"ALARM": "AlarmActions", "OK": "OKActions", "INSUFFICIENT_DATA": "InsufficientDataActions"}
_MATH = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}


@dataclass(frozen=True)
class Datapoint:
    namespace: str
    name: str
    dimensions: tuple[tuple[str, str], ...]  # sorted: CloudWatch matches the exact set
    value: float
    at: float
    unit: str = "None"

    @property
    def series(self) -> Series:
        return self.namespace, self.name, self.dimensions, self.unit


def datapoints(record: dict[str, Any]) -> list[Datapoint]:
    """Every (metric, dimension set) value an EMF record carries, as CloudWatch would extract them."""
    meta = record.get("_aws") or {}
    at = float(meta.get("Timestamp", time.time() * 1000)) / 1000
    found = []
    for directive in meta.get("CloudWatchMetrics") or []:
        for names in directive.get("Dimensions") or [[]]:
            dimensions = tuple(sorted((name, str(record[name])) for name in names))
            for metric in directive.get("Metrics") or []:
                values = record.get(metric["Name"])
                for value in values if isinstance(values, list) else [values]:
                    if isinstance(value, int | float):
                        unit = metric.get("Unit", "None")
                        found.append(Datapoint(directive["Namespace"], metric["Name"], dimensions, value, at, unit))
    return found


def _statistic(values: list[float], stat: str) -> float:
    if stat == "Maximum":
        return max(values)
    if stat == "Minimum":
        return min(values)
    if stat == "Sum":
        return sum(values)
    if stat == "SampleCount":
        return float(len(values))
    if stat == "Average":
        return sum(values) / len(values)
    raise ValueError(f"the local alarm evaluator does not compute {stat!r}")


def _evaluate_math(expression: str, variables: dict[str, float | None]) -> float | None:
    """Arithmetic over metric ids and numbers (e.g. 'spentMicros / 1000000'): all the template uses."""

    def walk(node: ast.AST) -> float | None:
        if isinstance(node, ast.Expression):
            return walk(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
            return float(node.value)
        if isinstance(node, ast.Name):
            return variables.get(node.id)
        if isinstance(node, ast.BinOp) and type(node.op) in _MATH:
            left, right = walk(node.left), walk(node.right)
            return None if left is None or right is None else _MATH[type(node.op)](left, right)
        raise ValueError(f"the local alarm evaluator cannot compute {expression!r}")

    return walk(ast.parse(expression, mode="eval"))


class AlarmEvaluator:
    """Evaluates the alarms in moto against captured metrics and delivers their actions, like CloudWatch.

    Alarm actions are published to their SNS topic in moto (SQS subscribers receive them) and, for topics a
    function subscribes to in template.yaml (the limits topic), delivered to that function's containers as
    the SNS event Lambda would get. Functions with a Schedule event run before each evaluation.
    """

    def __init__(
        self, containers: Invoker, *, stage: str, parameters: dict[str, str] | None = None, interval: float = 10.0
    ) -> None:
        self.containers, self.stage, self.interval = containers, stage, interval
        self.doc = load_template(TEMPLATE)
        defaults = {name: str(spec.get("Default", "")) for name, spec in self.doc.get("Parameters", {}).items()}
        self.parameters = {**defaults, **(parameters or {}), "Stage": stage}
        self.states: dict[str, str] = {}
        self.deliveries: list[dict[str, Any]] = []
        self._series: dict[Series, list[Datapoint]] = {}  # each series' datapoints, as they came
        self._pending: list[Datapoint] = []
        self._lock, self._evaluating = threading.Lock(), threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # --- wiring --------------------------------------------------------------------------------
    def install(self) -> AlarmEvaluator:
        """Capture the functions' EMF and create the template's own alarms (the global budget) in moto."""
        metrics.set_metrics_sink(self.ingest)
        resolver = Resolver(self.parameters, self._topic_arns(), {})
        for resource in self.doc["Resources"].values():
            if resource["Type"] == "AWS::CloudWatch::Alarm":
                props = resolver.resolve(resource["Properties"])
                props["Threshold"] = float(props["Threshold"])
                boto3.client("cloudwatch").put_metric_alarm(**props)
        return self

    def start(self) -> AlarmEvaluator:
        self.install()
        self._thread = threading.Thread(target=self._loop, name="atende-alarms", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)
        metrics.set_metrics_sink(None)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.evaluate_once()
            except Exception as error:  # noqa: BLE001 — keep evaluating; the next round may succeed
                print(f"alarm evaluation failed: {error!r}", flush=True)

    def ingest(self, record: dict[str, Any]) -> None:
        """The metrics sink: what a function would print as an EMF line."""
        points = datapoints(record)
        with self._lock:
            for point in points:
                self._series.setdefault(point.series, []).append(point)
            self._pending.extend(points)

    def recorded(self, metric: str) -> list[Datapoint]:
        """The datapoints captured for `metric` (all dimension sets) in the last ALARM_WINDOW_SECONDS, oldest first."""
        with self._lock:
            found = [p for key, points in self._series.items() if key[1] == metric for p in points]
        return sorted(found, key=lambda p: p.at)

    def held(self) -> int:
        """How many raw datapoints the evaluator holds (bounded by ALARM_WINDOW_SECONDS, whatever the traffic)."""
        with self._lock:
            return sum(len(points) for points in self._series.values())

    def _topic_arns(self) -> dict[str, str]:
        """Logical topic name -> ARN of the topic moto holds for it."""
        arns = [t["TopicArn"] for t in boto3.client("sns").list_topics().get("Topics", [])]
        resolver = Resolver(self.parameters, {}, {})
        found = {}
        for logical, resource in self.doc["Resources"].items():
            if resource["Type"] == "AWS::SNS::Topic":
                name = resolver.resolve(resource["Properties"].get("TopicName"))
                for arn in arns:
                    if arn.endswith(f":{name}"):
                        found[logical] = arn
        return found

    def _subscribers(self) -> dict[str, list[str]]:
        """Topic ARN -> functions with an SNS event on it in template.yaml."""
        arns, subscribers = self._topic_arns(), dict[str, list[str]]()
        for resource in self.doc["Resources"].values():
            if resource["Type"] != "AWS::Serverless::Function":
                continue
            for event in (resource["Properties"].get("Events") or {}).values():
                topic = (event.get("Properties") or {}).get("Topic") or {}
                if event.get("Type") == "SNS" and isinstance(topic, dict) and topic.get("Ref") in arns:
                    subscribers.setdefault(arns[topic["Ref"]], []).append(function_name(resource))
        return subscribers

    def _invoke(self, name: str, event: dict[str, Any]) -> Any:
        return self.containers.invoke(name, event)

    # --- evaluation ----------------------------------------------------------------------------
    def run_schedules(self) -> None:
        for resource in self.doc["Resources"].values():
            events = (resource.get("Properties") or {}).get("Events") or {}
            if resource["Type"] == "AWS::Serverless::Function" and any(
                e.get("Type") == "Schedule" for e in events.values()
            ):
                event = {"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}, "time": now_iso()}
                self._invoke(function_name(resource), event)

    def evaluate_once(
        self, *, prefix: str | None = None, schedules: bool = True, now: float | None = None
    ) -> list[dict[str, Any]]:
        """One round: scheduled functions, then every alarm named `prefix*`; returns the state changes.

        `now` evaluates as of a later moment (a test whose gauge stopped arriving minutes ago)."""
        with self._evaluating:
            if schedules:
                self.run_schedules()
            now = time.time() if now is None else now
            self._mirror(now)
            cloudwatch, changes = boto3.client("cloudwatch"), []
            pages = cloudwatch.get_paginator("describe_alarms").paginate(
                AlarmNamePrefix=prefix or f"atende-{self.stage}-"
            )
            alarms = [alarm for page in pages for alarm in page.get("MetricAlarms", [])]
            for alarm in alarms:
                old = self.states.get(alarm["AlarmName"], "INSUFFICIENT_DATA")
                value = self._alarm_value(alarm, now)
                new = self._state(alarm, value, old)
                if new == old:
                    continue
                self.states[alarm["AlarmName"]] = new
                reason = f"Local evaluation: value {value} vs threshold {alarm.get('Threshold')}."
                cloudwatch.set_alarm_state(AlarmName=alarm["AlarmName"], StateValue=new, StateReason=reason)
                changes.append({"alarm": alarm["AlarmName"], "old": old, "new": new, "value": value})
                if alarm.get("ActionsEnabled", True):
                    self._notify(alarm, old, new, reason)
            return changes

    def _mirror(self, now: float) -> None:
        """Copy new datapoints into moto's CloudWatch (so `get-metric-statistics` shows them) and prune old ones."""
        with self._lock:
            pending, self._pending = self._pending, []
            for key, points in list(self._series.items()):
                kept = [p for p in points if p.at > now - ALARM_WINDOW_SECONDS]  # containers report out of order
                if kept:
                    self._series[key] = kept
                else:
                    del self._series[key]
        cloudwatch = boto3.client("cloudwatch")
        for namespace, data in statistic_sets(pending).items():
            for start in range(0, len(data), 500):
                cloudwatch.put_metric_data(Namespace=namespace, MetricData=data[start : start + 500])
        _prune_moto_metrics(now - KEEP_SECONDS)

    def _stat(self, namespace: str, name: str, dimensions: list[dict[str, str]], stat: str, window: float) -> Any:
        wanted = tuple(sorted((d["Name"], d["Value"]) for d in dimensions))
        with self._lock:
            values = [
                p.value
                for key, points in self._series.items()
                if key[:3] == (namespace, name, wanted)
                for p in points
                if p.at > window
            ]
        return _statistic(values, stat) if values else None

    def _alarm_value(self, alarm: dict[str, Any], now: float) -> float | None:
        if not alarm.get("Metrics"):
            window = now - alarm["Period"] * alarm.get("EvaluationPeriods", 1)
            return self._stat(
                alarm["Namespace"], alarm["MetricName"], alarm.get("Dimensions", []), alarm["Statistic"], window
            )
        values: dict[str, float | None] = {}
        for query in alarm["Metrics"]:
            if "MetricStat" in query:
                stat, metric = query["MetricStat"], query["MetricStat"]["Metric"]
                window = now - stat["Period"] * alarm.get("EvaluationPeriods", 1)
                dimensions = metric.get("Dimensions", [])
                values[query["Id"]] = self._stat(
                    metric["Namespace"], metric["MetricName"], dimensions, stat["Stat"], window
                )
        result = next(q for q in alarm["Metrics"] if q.get("ReturnData", True))
        return _evaluate_math(result["Expression"], values) if "Expression" in result else values[result["Id"]]

    @staticmethod
    def _state(alarm: dict[str, Any], value: float | None, current: str) -> str:
        if value is None:
            treat = alarm.get("TreatMissingData") or "missing"
            return current if treat == "ignore" else _MISSING[treat]
        return "ALARM" if _OPERATORS[alarm["ComparisonOperator"]](value, alarm["Threshold"]) else "OK"

    def _notify(self, alarm: dict[str, Any], old: str, new: str, reason: str) -> None:
        message = json.dumps(alarm_message(alarm, old, new, reason))
        subject = f'{new}: "{alarm["AlarmName"]}" in US East (N. Virginia)'[:100]
        subscribers, sns = self._subscribers(), boto3.client("sns")
        for topic in alarm.get(_ACTIONS[new]) or []:
            if ":sns:" not in topic:
                continue
            sns.publish(TopicArn=topic, Subject=subject, Message=message)
            for name in subscribers.get(topic, []):
                result = self._invoke(name, sns_event(topic, subject, message))
                self.deliveries.append({"topic": topic, "function": name, "alarm": alarm["AlarmName"], "out": result})


def statistic_sets(points: list[Datapoint]) -> dict[str, list[dict[str, Any]]]:
    """PutMetricData entries by namespace: one StatisticValues set per series and minute, as CloudWatch keeps
    standard-resolution data (a percentile over a minute is not kept: the alarms here read the raw points)."""
    sets: dict[tuple[Series, int], list[float]] = {}
    for point in points:
        sets.setdefault((point.series, int(point.at // 60)), []).append(point.value)
    data: dict[str, list[dict[str, Any]]] = {}
    for ((namespace, name, dimensions, unit), minute), values in sets.items():
        data.setdefault(namespace, []).append(
            {
                "MetricName": name,
                "Dimensions": [{"Name": n, "Value": v} for n, v in dimensions],
                "StatisticValues": {
                    "SampleCount": float(len(values)),
                    "Sum": float(sum(values)),
                    "Minimum": float(min(values)),
                    "Maximum": float(max(values)),
                },
                "Unit": unit,
                "Timestamp": datetime.fromtimestamp(minute * 60, UTC),
            }
        )
    return data


def _prune_moto_metrics(before: float) -> None:
    """moto keeps every datapoint it was sent, and every model instance: drop what the alarms no longer read.

    Only when moto runs in this process (the local stack's embedded AWS); an external endpoint keeps its own."""
    untrack_dynamodb_models("cloudwatch")
    cutoff = datetime.fromtimestamp(before, UTC)
    for backend in _cloudwatch_backends():
        backend.metric_data = [m for m in backend.metric_data if _aware(m.timestamp) >= cutoff]


def _cloudwatch_backends() -> list[Any]:
    return [cloudwatch_backends[ACCOUNT][region] for region in cloudwatch_backends[ACCOUNT].regions if region]


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
