"""The local stack's CloudWatch stays the same size however many turns report metrics: statistic sets in moto,
raw datapoints only for as long as an alarm reads them."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import boto3
import pytest
from moto.cloudwatch.models import cloudwatch_backends

from atende.billing.alarms import alarm_definitions
from atende.models.limits import Limits
from devtools.alarms import ACCOUNT, ALARM_WINDOW_SECONDS, TEMPLATE, AlarmEvaluator
from devtools.containers import Containers
from devtools.template import load_template


@pytest.fixture
def evaluator(containers: Containers) -> Iterator[AlarmEvaluator]:
    local = AlarmEvaluator(containers, stage="test", interval=3600).install()
    yield local
    local.stop()


def emf(namespace: str, value: float, at: float) -> dict[str, object]:
    directive = {"Namespace": namespace, "Dimensions": [["Stage"]], "Metrics": [{"Name": "Probe", "Unit": "Count"}]}
    return {"_aws": {"Timestamp": int(at * 1000), "CloudWatchMetrics": [directive]}, "Stage": "test", "Probe": value}


def moto_datums(namespace: str) -> int:
    return sum(
        1
        for region in cloudwatch_backends[ACCOUNT].regions
        if region
        for datum in cloudwatch_backends[ACCOUNT][region].metric_data
        if datum.namespace == namespace
    )


def test_many_datapoints_of_a_minute_are_one_statistic_set_in_moto_with_the_same_statistics(
    evaluator: AlarmEvaluator,
) -> None:
    namespace, minute = f"Probe{uuid.uuid4().hex[:8]}", int(time.time() // 60) * 60
    for i in range(600):  # a busy minute: 10 turns/s
        evaluator.ingest(emf(namespace, float(i % 7), minute + i / 20))
    evaluator.evaluate_once(prefix="atende-test-none-", schedules=False, now=minute + 60)

    assert moto_datums(namespace) == 1, "one set for the series' minute, not one datum per datapoint"
    answer = boto3.client("cloudwatch").get_metric_statistics(
        Namespace=namespace,
        MetricName="Probe",
        Dimensions=[{"Name": "Stage", "Value": "test"}],
        StartTime=datetime.fromtimestamp(minute - 60, UTC),
        EndTime=datetime.fromtimestamp(minute + 120, UTC),
        Period=60,
        Statistics=["SampleCount", "Sum", "Maximum", "Minimum"],
    )
    values = [float(i % 7) for i in range(600)]
    [point] = answer["Datapoints"]
    assert (point["SampleCount"], point["Sum"], point["Maximum"], point["Minimum"]) == (600, sum(values), 6, 0)


def test_raw_datapoints_are_held_only_for_as_long_as_an_alarm_reads_them(evaluator: AlarmEvaluator) -> None:
    namespace, now = f"Probe{uuid.uuid4().hex[:8]}", time.time()
    for i in range(50):
        evaluator.ingest(emf(namespace, 1.0, now - ALARM_WINDOW_SECONDS - 60 + i / 10))  # past every window
        evaluator.ingest(emf(namespace, 2.0, now - 30 + i / 10))
    evaluator.evaluate_once(prefix="atende-test-none-", schedules=False, now=now)

    points = [p for p in evaluator.recorded("Probe") if p.namespace == namespace]
    assert [p.value for p in points] == [2.0] * 50


def test_every_alarm_reads_less_than_the_window_the_evaluator_keeps() -> None:
    doc = load_template(TEMPLATE)
    windows = []
    for resource in doc["Resources"].values():
        if resource["Type"] == "AWS::CloudWatch::Alarm":
            props = resource["Properties"]
            periods = [props.get("Period")] + [
                (q.get("MetricStat") or {}).get("Period") for q in props.get("Metrics") or []
            ]
            windows += [int(p) * int(props.get("EvaluationPeriods", 1)) for p in periods if p is not None]
    limits = Limits(monthly_budget_micros=10**6, daily_budget_micros=10**5, soft_limit_percent=80)
    windows += [a["Period"] * a["EvaluationPeriods"] for a in alarm_definitions("t0000000000", limits)]
    assert len(windows) >= 5 and max(windows) < ALARM_WINDOW_SECONDS
