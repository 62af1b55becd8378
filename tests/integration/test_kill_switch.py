"""The global kill switch fails closed: when the spend gauge stops arriving, the alarm and its holds stay."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from devtools.alarms import AlarmEvaluator
from devtools.aws_local import EmbeddedAWS
from devtools.containers import Containers
from tests.support import ApiClient, create_tenant

GLOBAL = "atende-test-global-daily-budget"
WINDOW = 300  # the alarm's period x evaluation periods


@pytest.fixture
def evaluator(aws: EmbeddedAWS, containers: Containers) -> Iterator[AlarmEvaluator]:
    parameters = {"GlobalDailyBudgetUsd": "1"}
    local = AlarmEvaluator(containers, stage="test", interval=3600, parameters=parameters).install()
    yield local
    if local.states.get(GLOBAL) == "ALARM":  # never leave every tenant of the session held
        later = time.time() + 3 * WINDOW
        local.ingest(_global_spend(0, later))
        local.evaluate_once(prefix=GLOBAL, schedules=False, now=later)
    local.stop()


def _global_spend(micros: int, at: float) -> dict[str, Any]:
    """The EMF line the sweep prints for the global gauge."""
    directive = {"Namespace": "Atende", "Dimensions": [["Stage"]], "Metrics": [{"Name": "GlobalDayToDateCostMicros"}]}
    meta = {"Timestamp": int(at * 1000), "CloudWatchMetrics": [directive]}
    return {"_aws": meta, "Stage": "test", "GlobalDayToDateCostMicros": micros}


def _status(api: ApiClient, root_key: str, tenant_id: str) -> str:
    return str(api.call("GET", f"/v1/admin/tenants/{tenant_id}", key=root_key).json["status"])


def test_global_alarm_stays_in_alarm_when_the_gauge_stops(
    evaluator: AlarmEvaluator, api: ApiClient, root_key: str
) -> None:
    tenant, start = create_tenant(api, root_key), time.time()
    evaluator.ingest(_global_spend(2_000_000, start))  # 2 USD against a 1 USD kill switch
    changes = evaluator.evaluate_once(prefix=GLOBAL, schedules=False)
    assert [(c["alarm"], c["new"]) for c in changes] == [(GLOBAL, "ALARM")]
    assert _status(api, root_key, tenant.id) == "suspended"

    # No sweep reports any more: the last datapoint falls out of the window.
    changes = evaluator.evaluate_once(prefix=GLOBAL, schedules=False, now=start + WINDOW + 60)
    assert changes == [], "missing data lifted the kill switch"
    assert evaluator.states[GLOBAL] == "ALARM"
    assert _status(api, root_key, tenant.id) == "suspended"

    later = start + 2 * WINDOW
    evaluator.ingest(_global_spend(0, later))  # the sweep reports again (a new day): the hold is lifted
    changes = evaluator.evaluate_once(prefix=GLOBAL, schedules=False, now=later)
    assert [(c["alarm"], c["new"]) for c in changes] == [(GLOBAL, "OK")]
    assert _status(api, root_key, tenant.id) == "active"
