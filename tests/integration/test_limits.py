"""Limits against moto: alarms and usage plans, the limits function's SNS events, reservations, usage, local alarms."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from atende.billing import budget, metrics, periods, policy, reservations, sweep, values
from atende.billing.pricing import PRICE_TABLE_VERSION
from atende.guards import moderation
from atende.models.bots import ModerationPolicy
from atende.models.tenants import Tenant
from atende.platform.errors import Conflict, InvalidRequest, LimitExceeded, TenantSuspended
from atende.platform.metrics import set_metrics_sink
from atende.platform.settings import get_settings
from atende.providers.upstream import Deadline
from atende.store import stores
from devtools.alarm_notifications import alarm_message, sns_event
from devtools.alarms import AlarmEvaluator
from devtools.containers import Containers
from devtools.fake_openai import FakeOpenAI
from devtools.functions import FakeLambdaContext
from tests.support import ApiClient, TenantHandle, create_tenant

USD = 1_000_000


def tenant_of(handle: TenantHandle) -> Tenant:
    return stores().tenants.require(handle.id)


def put_limits(handle: TenantHandle, **fields: Any) -> dict[str, Any]:
    answer = handle.call("PUT", "/v1/limits", json_body=fields)
    assert answer.status == 200, answer.text
    return dict(answer.json)


def spend(
    handle: TenantHandle, cost: int, *, bot: str = "shop", model: str = "gpt-4o-mini", usage: values.Usage | None = None
) -> values.Reservation:
    """A billed turn as the chat turn runs it: reserve the cost, settle it in one transaction, emit metrics."""
    tenant, usage = tenant_of(handle), usage or values.Usage(1000, 200, 100)
    reservation = reservations.reserve(tenant, f"req-{uuid.uuid4().hex}", cost, tokens=1100, bot_id=bot, model=model)
    reservations.settle_alone(
        reservation, reservations.settlement_operations(reservation, cost, usage, bot_id=bot, model=model)
    )
    metrics.emit_turn_metrics(tenant, bot, model, cost, usage)
    return reservation


def counter(handle: TenantHandle) -> dict[str, Any]:
    month, _ = periods.periods(periods.utc())
    return stores().counters.month_totals(handle.id, get_settings().budget_counter_shards, month)


# --- alarms and usage plans (config API) --------------------------------------------------------
def test_put_limits_creates_the_tenant_alarms_with_their_definitions(tenant: TenantHandle) -> None:
    view = put_limits(tenant, monthly_budget_usd=10, daily_budget_usd="2.5", soft_limit_percent=80)
    prefix = f"atende-test-tenant-{tenant.id}-"
    assert view["effective"]["monthly_budget_usd"] == 10 and view["effective"]["daily_budget_usd"] == 2.5
    assert sorted(view["alarms"]) == sorted(
        prefix + s for s in ("monthly-budget", "monthly-budget-soft", "daily-budget", "daily-budget-soft")
    )
    alarms = {
        a["AlarmName"]: a for a in boto3.client("cloudwatch").describe_alarms(AlarmNamePrefix=prefix)["MetricAlarms"]
    }
    settings = get_settings()
    expected = {
        "monthly-budget": ("MonthToDateCostMicros", 10 * USD, [settings.limits_topic_arn]),
        "monthly-budget-soft": ("MonthToDateCostMicros", 8 * USD, [settings.notifications_topic_arn]),
        "daily-budget": ("DayToDateCostMicros", 2.5 * USD, [settings.limits_topic_arn]),
        "daily-budget-soft": ("DayToDateCostMicros", 2 * USD, [settings.notifications_topic_arn]),
    }
    assert set(alarms) == {prefix + suffix for suffix in expected}
    for suffix, (metric, threshold, actions) in expected.items():
        alarm = alarms[prefix + suffix]
        assert alarm["Namespace"] == "Atende" and alarm["MetricName"] == metric
        assert sorted((d["Name"], d["Value"]) for d in alarm["Dimensions"]) == [
            ("Stage", "test"),
            ("Tenant", tenant.id),
        ]
        assert alarm["Statistic"] == "Maximum" and alarm["Period"] == 60 and alarm["EvaluationPeriods"] == 1
        assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold" and alarm["Threshold"] == threshold
        assert alarm["AlarmActions"] == actions and alarm["TreatMissingData"] == "ignore"
        assert alarm["OKActions"] == (actions if not suffix.endswith("soft") else [])
    assert ":atende-test-limits" in settings.limits_topic_arn

    put_limits(tenant, monthly_budget_usd=10)  # no daily budget, no soft threshold any more
    left = boto3.client("cloudwatch").describe_alarms(AlarmNamePrefix=prefix)["MetricAlarms"]
    assert [a["AlarmName"] for a in left] == [prefix + "monthly-budget"]
    put_limits(tenant)
    assert boto3.client("cloudwatch").describe_alarms(AlarmNamePrefix=prefix)["MetricAlarms"] == []


def test_operator_caps_bound_what_the_tenant_sets(api: ApiClient, root_key: str, tenant: TenantHandle) -> None:
    put_limits(tenant, monthly_budget_usd=50, daily_budget_usd=5)
    capped = api.call(
        "PUT", f"/v1/admin/tenants/{tenant.id}/limits", key=root_key, json_body={"monthly_budget_usd": "20.5"}
    )
    assert capped.status == 200, capped.text
    view = capped.json
    assert view["limits"]["monthly_budget_usd"] == 50 and view["operator_caps"]["monthly_budget_usd"] == 20.5
    assert view["effective"]["monthly_budget_usd"] == 20.5 and view["effective"]["daily_budget_usd"] == 5
    assert tenant.call("GET", "/v1/limits").json["effective"] == view["effective"]
    alarm = boto3.client("cloudwatch").describe_alarms(AlarmNames=[f"atende-test-tenant-{tenant.id}-monthly-budget"])
    assert alarm["MetricAlarms"][0]["Threshold"] == 20.5 * USD
    refused = tenant.call("PUT", f"/v1/admin/tenants/{tenant.id}/limits", json_body={})
    assert refused.status == 403 and refused.error["code"] == "insufficient_scope"


def test_rate_limits_become_a_usage_plan_bound_to_the_tenant_key(tenant: TenantHandle) -> None:
    view = put_limits(tenant, rate_limit_rps=5, rate_limit_burst=10, monthly_request_quota=1000)
    assert view["usage_plan"]["enforced"] is False
    gateway, plan_id = boto3.client("apigateway"), view["usage_plan"]["id"]
    plan = gateway.get_usage_plan(usagePlanId=plan_id)
    assert plan["name"] == f"atende-test-tenant-{tenant.id}"
    assert plan["throttle"] == {"rateLimit": 5.0, "burstLimit": 10}
    assert plan["quota"] == {"limit": 1000, "period": "MONTH"}
    assert plan["apiStages"] == [{"apiId": "local", "stage": "test"}]
    keys = gateway.get_usage_plan_keys(usagePlanId=plan_id)["items"]
    assert [k["name"] for k in keys] == [f"atende-test-tenant-{tenant.id}"]

    put_limits(tenant, rate_limit_rps=7, rate_limit_burst=10, monthly_request_quota=1000)
    assert gateway.get_usage_plan(usagePlanId=plan_id)["throttle"]["rateLimit"] == 7.0
    assert put_limits(tenant)["usage_plan"] is None
    assert plan_id not in [p["id"] for p in gateway.get_usage_plans()["items"]]


def test_a_deleted_tenant_leaves_no_alarm_plan_or_key_behind(tenant: TenantHandle, root_key: str) -> None:
    put_limits(tenant, monthly_budget_usd=3, rate_limit_rps=2)
    assert tenant.api.call("DELETE", f"/v1/admin/tenants/{tenant.id}", key=root_key).status == 200
    prefix = f"atende-test-tenant-{tenant.id}-"
    assert boto3.client("cloudwatch").describe_alarms(AlarmNamePrefix=prefix)["MetricAlarms"] == []
    names = [k["name"] for k in boto3.client("apigateway").get_api_keys()["items"]]
    assert f"atende-test-tenant-{tenant.id}" not in names


def alarm_names_of(tenant_id: str) -> list[str]:
    found = boto3.client("cloudwatch").describe_alarms(AlarmNamePrefix=f"atende-test-tenant-{tenant_id}-")
    return sorted(a["AlarmName"] for a in found["MetricAlarms"])


def test_a_tenant_whose_id_extends_another_keeps_its_alarms(api: ApiClient, root_key: str) -> None:
    base = f"co1{uuid.uuid4().hex[:6]}"
    co1, co1_br = create_tenant(api, root_key, id=base), create_tenant(api, root_key, id=f"{base}-br")
    put_limits(co1, monthly_budget_usd=5)
    put_limits(co1_br, monthly_budget_usd=3, daily_budget_usd=1, soft_limit_percent=80)
    theirs = alarm_names_of(co1_br.id)
    assert len(theirs) == 4 and set(theirs) < set(alarm_names_of(co1.id)), "co1's prefix lists co1-br's alarms"

    put_limits(co1)  # no budget left: co1's alarm goes, co1-br's stay
    assert alarm_names_of(co1.id) == theirs
    put_limits(co1, daily_budget_usd=2)
    assert api.call("DELETE", f"/v1/admin/tenants/{co1.id}", key=root_key).status == 200
    assert alarm_names_of(co1.id) == alarm_names_of(co1_br.id) == theirs


@pytest.mark.parametrize(
    "body",
    [{"monthly_budget_usd": -1}, {"monthly_budget_usd": "1.0000001"}, {"soft_limit_percent": 0}, {"budget": 3}],
)
def test_invalid_limits_are_refused(tenant: TenantHandle, body: dict[str, Any]) -> None:
    answer = tenant.call("PUT", "/v1/limits", json_body=body)
    assert answer.status == 400, answer.text


# --- the limits function with CloudWatch's SNS messages ----------------------------------------
@pytest.fixture(scope="module")
def limits_function(containers: Containers) -> Any:
    """The limits function in its own containers (its role, its environment), called like a module."""
    return containers.function("limits")


def notify(function: Any, alarm_name: str, state: str, tenant_id: str | None = None) -> Any:
    """Deliver an alarm state change the way SNS hands it to Lambda."""
    alarm = {
        "AlarmName": alarm_name,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        "Threshold": 1.0,
        "Namespace": "Atende",
        "MetricName": "MonthToDateCostMicros",
        "Statistic": "Maximum",
        "Period": 60,
        "Dimensions": [{"Name": "Stage", "Value": "test"}]
        + ([{"Name": "Tenant", "Value": tenant_id}] if tenant_id else []),
    }
    old = "OK" if state == "ALARM" else "ALARM"
    message = json.dumps(alarm_message(alarm, old, state, "Threshold Crossed: 1 datapoint was >= threshold."))
    event = sns_event(get_settings().limits_topic_arn, f'{state}: "{alarm_name}"', message)
    return function.lambda_handler(event, FakeLambdaContext("atende-limits", "r1"))


def status(api: ApiClient, root_key: str, tenant_id: str) -> dict[str, Any]:
    return dict(api.call("GET", f"/v1/admin/tenants/{tenant_id}", key=root_key).json)


def test_hard_alarm_suspends_the_tenant_naming_the_limit_and_ok_resumes_it(
    api: ApiClient, root_key: str, tenant: TenantHandle, limits_function: Any
) -> None:
    put_limits(tenant, monthly_budget_usd=1)
    name = f"atende-test-tenant-{tenant.id}-monthly-budget"
    assert notify(limits_function, name, "ALARM", tenant.id)["handled"][0]["tenants"] == [tenant.id]
    assert notify(limits_function, name, "ALARM", tenant.id)["handled"][0]["tenants"] == []  # SNS redelivery
    suspended = status(api, root_key, tenant.id)
    assert suspended["status"] == "suspended" and "monthly budget of 1.00 USD" in suspended["status_reason"]
    assert tenant.call("GET", "/v1/limits").json["suspended_by"] == ["monthly_budget"]

    with pytest.raises(LimitExceeded) as refused:
        policy.ensure_active(tenant_of(tenant))
    assert refused.value.code == "monthly_budget_exceeded" and refused.value.param == "monthly_budget_usd"
    assert "resets at" in refused.value.message and refused.value.headers["x-should-retry"] == "false"

    notify(limits_function, name, "OK", tenant.id)
    assert status(api, root_key, tenant.id)["status"] == "active"
    policy.ensure_active(tenant_of(tenant))


def test_ok_never_resumes_a_tenant_the_operator_suspended(
    api: ApiClient, root_key: str, tenant: TenantHandle, limits_function: Any
) -> None:
    put_limits(tenant, daily_budget_usd=1)
    name = f"atende-test-tenant-{tenant.id}-daily-budget"
    api.call("POST", f"/v1/admin/tenants/{tenant.id}/suspend", key=root_key, json_body={"reason": "unpaid invoice"})
    notify(limits_function, name, "ALARM", tenant.id)
    notify(limits_function, name, "OK", tenant.id)
    assert status(api, root_key, tenant.id)["status_reason"] == "unpaid invoice"

    api.call("POST", f"/v1/admin/tenants/{tenant.id}/resume", key=root_key)
    notify(limits_function, name, "ALARM", tenant.id)  # the limit suspends...
    api.call("POST", f"/v1/admin/tenants/{tenant.id}/suspend", key=root_key, json_body={"reason": "fraud check"})
    notify(limits_function, name, "OK", tenant.id)  # ...but the operator's later suspension stands
    assert status(api, root_key, tenant.id)["status_reason"] == "fraud check"
    with pytest.raises(Exception, match="fraud check"):
        policy.ensure_active(tenant_of(tenant))


def test_an_operator_suspension_worded_like_a_hold_is_still_the_operators(
    api: ApiClient, root_key: str, tenant: TenantHandle, limits_function: Any
) -> None:
    """The suspension's cause is a field: an operator reason that copies a hold's text is not that hold."""
    put_limits(tenant, daily_budget_usd=1)
    name = f"atende-test-tenant-{tenant.id}-daily-budget"
    notify(limits_function, name, "ALARM", tenant.id)
    hold_text = status(api, root_key, tenant.id)["status_reason"]
    assert len(hold_text) <= 200, "an operator can send it as a reason"
    api.call("POST", f"/v1/admin/tenants/{tenant.id}/resume", key=root_key)
    api.call("POST", f"/v1/admin/tenants/{tenant.id}/suspend", key=root_key, json_body={"reason": hold_text})

    with pytest.raises(TenantSuspended):  # 403 from the operator, not the limit's 429
        policy.ensure_active(tenant_of(tenant))
    notify(limits_function, name, "OK", tenant.id)  # lifting the limit leaves the operator's suspension
    assert status(api, root_key, tenant.id)["status"] == "suspended"


def test_global_alarm_suspends_every_tenant_and_its_ok_lifts_only_that(
    api: ApiClient, root_key: str, tenant: TenantHandle, other_tenant: TenantHandle, limits_function: Any
) -> None:
    put_limits(other_tenant, monthly_budget_usd=1)
    notify(limits_function, f"atende-test-tenant-{other_tenant.id}-monthly-budget", "ALARM", other_tenant.id)
    try:
        notify(limits_function, "atende-test-global-daily-budget", "ALARM")
        assert status(api, root_key, tenant.id)["status"] == "suspended"
        with pytest.raises(LimitExceeded) as refused:
            policy.ensure_active(tenant_of(tenant))
        assert refused.value.code == "global_daily_budget_exceeded"
    finally:
        notify(limits_function, "atende-test-global-daily-budget", "OK")
    assert status(api, root_key, tenant.id)["status"] == "active"
    still = status(api, root_key, other_tenant.id)
    assert still["status"] == "suspended" and "monthly budget" in still["status_reason"], "its own limit still holds"
    notify(limits_function, f"atende-test-tenant-{other_tenant.id}-monthly-budget", "OK", other_tenant.id)
    assert status(api, root_key, other_tenant.id)["status"] == "active"


def test_soft_alarms_and_other_messages_change_nothing(
    api: ApiClient, root_key: str, tenant: TenantHandle, limits_function: Any
) -> None:
    notify(limits_function, f"atende-test-tenant-{tenant.id}-monthly-budget-soft", "ALARM", tenant.id)
    event = sns_event(get_settings().limits_topic_arn, "hello", "not an alarm")
    assert limits_function.lambda_handler(event, FakeLambdaContext("atende-limits", "r2")) == {"handled": []}
    assert status(api, root_key, tenant.id)["status"] == "active"


# --- prices, reservations, refusals, sweeping ---------------------------------------------------
def test_a_budgeted_tenant_cannot_use_a_model_without_price(
    api: ApiClient, root_key: str, tenant: TenantHandle
) -> None:
    assert policy.price_for(tenant_of(tenant), "my-llama") is None  # no budget: allowed, billed at 0
    put_limits(tenant, monthly_budget_usd=5)
    with pytest.raises(InvalidRequest) as refused:
        policy.price_for(tenant_of(tenant), "my-llama")
    assert refused.value.param == "model" and "my-llama" in refused.value.message
    override = {"my-llama": {"input_usd_per_million": "0.2", "output_usd_per_million": 0.4}}
    answer = api.call(
        "PUT", f"/v1/admin/tenants/{tenant.id}/limits", key=root_key, json_body={"price_overrides": override}
    )
    assert answer.status == 200, answer.text
    price = policy.price_for(tenant_of(tenant), "my-llama")
    assert price is not None and (price.input, price.cached_input, price.output) == (200_000, 200_000, 400_000)


def test_refusals_name_the_limit_and_when_it_resets(tenant: TenantHandle) -> None:
    put_limits(tenant, monthly_budget_usd=1, daily_budget_usd="0.5", monthly_token_quota=5000, monthly_request_quota=3)
    spend(tenant, 400_000)
    cases = [
        (reservations.reserve, (200_000,), {}, "daily_budget_exceeded", "daily_budget_usd"),
        (reservations.reserve, (2 * USD,), {}, "monthly_budget_exceeded", "monthly_budget_usd"),
        (reservations.reserve, (1,), {"tokens": 4000}, "monthly_token_quota_exceeded", "monthly_token_quota"),
    ]
    for reserve, args, kwargs, code, param in cases:
        with pytest.raises(LimitExceeded) as refused:
            reserve(tenant_of(tenant), f"r-{uuid.uuid4().hex}", *args, **kwargs)
        assert (refused.value.code, refused.value.param) == (code, param)
        assert "resets at" in refused.value.message and int(refused.value.headers["retry-after"]) > 0
    spend(tenant, 1)
    spend(tenant, 1)
    with pytest.raises(LimitExceeded) as refused:
        reservations.reserve(tenant_of(tenant), "r-quota", 1)
    assert refused.value.code == "monthly_request_quota_exceeded"
    assert tenant.call("GET", "/v1/usage").json["refused"] == 4


def test_released_and_abandoned_reservations_give_the_budget_back(tenant: TenantHandle) -> None:
    put_limits(tenant, monthly_budget_usd=1)
    held = reservations.reserve(tenant_of(tenant), "r-failed-call", 900_000)
    with pytest.raises(LimitExceeded):
        reservations.reserve(tenant_of(tenant), "r-blocked", 900_000)
    with pytest.raises(Conflict):
        reservations.reserve(tenant_of(tenant), "r-failed-call", 1)  # a request id holds one reservation at a time
    # The same call retried after its first answer was lost (an SDK timeout): the hold is adopted, not doubled.
    again = reservations.reserve(tenant_of(tenant), "r-failed-call", 900_000)
    assert again.amount_micros == 900_000 and int(counter(tenant)["committed"]) == 900_000
    reservations.release(held)
    reservations.release(held)  # twice is harmless
    assert int(counter(tenant)["committed"]) == 0
    with pytest.raises(Conflict):  # a released request id stays spent: a late copy of it cannot hold again
        reservations.reserve(tenant_of(tenant), "r-failed-call", 900_000)

    # A call whose Lambda died: its reservation expires and the next refusal sweeps it away.
    reservations.reserve(
        tenant_of(tenant), "r-crashed", 900_000, now=time.time() - reservations.RESERVATION_TTL_SECONDS - 5
    )
    reservations.reserve(tenant_of(tenant), "r-after-crash", 900_000)
    assert "r-crashed" not in counter(tenant)["held"] and int(counter(tenant)["committed"]) == 900_000

    reservations.reserve(
        tenant_of(tenant), "r-crashed-2", 50_000, now=time.time() - reservations.RESERVATION_TTL_SECONDS - 5
    )
    assert sweep.tick()["swept"] >= 1  # the limits function's schedule sweeps too
    assert int(counter(tenant)["committed"]) == 900_000


def test_a_warm_reservation_is_one_dynamodb_call_and_settlement_needs_none(tenant: TenantHandle) -> None:
    put_limits(tenant, monthly_budget_usd=1, daily_budget_usd=1, monthly_token_quota=10**6)
    warm = tenant_of(tenant)
    policy.price_for(warm, "gpt-4o")  # loads the tenant's limits into the container cache
    calls: list[str] = []
    events = stores().usage.table.meta.client.meta.events
    events.register("before-call.dynamodb.*", lambda model, **_: calls.append(model.name), unique_id="count-calls")
    try:
        reservation = reservations.reserve(warm, "r-warm", 5000, tokens=900)
        assert calls == ["TransactWriteItems"], "the reservation item and its shard (and day counter) at once"
        operations = reservations.settlement_operations(
            reservation, 4000, values.Usage(800, 0, 50), bot_id="b", model="m"
        )
        assert calls == ["TransactWriteItems"], "settlement only builds items for the turn's own transaction"
        # the reservation consumed, its month shard and day counter, the day report
        assert len(operations) == 4 and all("Update" in op for op in operations)
    finally:
        events.unregister("before-call.dynamodb.*", unique_id="count-calls")
    assert reservation.record["month"] == reservation.month and reservation.record["daily"] is True


# --- usage report -------------------------------------------------------------------------------
def test_usage_report_totals_and_breakdowns(tenant: TenantHandle) -> None:
    put_limits(tenant, monthly_budget_usd=1)
    spend(tenant, 1500, bot="shop", model="gpt-4o-mini", usage=values.Usage(1000, 400, 50))
    spend(tenant, 2500, bot="shop", model="gpt-4o", usage=values.Usage(500, 0, 20))
    spend(tenant, 1000, bot="help", model="gpt-4o", usage=values.Usage(100, 0, 10))
    with pytest.raises(LimitExceeded):
        reservations.reserve(tenant_of(tenant), "r-too-big", 2 * USD, bot_id="help", model="gpt-4o")

    report = tenant.call("GET", "/v1/usage").json
    month, dd = periods.periods(periods.utc())
    assert report["object"] == "usage" and report["period"] == month and report["tenant_id"] == tenant.id
    assert report["spend_usd"] == 0.005 and report["spend_micros"] == 5000
    assert (report["input_tokens"], report["cached_input_tokens"], report["output_tokens"]) == (1600, 400, 80)
    assert (report["requests"], report["refused"]) == (3, 1)
    assert report["price_table_version"] == PRICE_TABLE_VERSION
    assert list(report["by_day"]) == [f"{month}-{dd}"] and report["by_day"][f"{month}-{dd}"]["requests"] == 3
    assert report["by_bot"]["shop"]["spend_micros"] == 4000 and report["by_bot"]["help"]["refused"] == 1
    assert report["by_model"]["gpt-4o"]["spend_micros"] == 3500 and report["by_model"]["gpt-4o"]["requests"] == 2
    assert report["by_model"]["gpt-4o-mini"]["cached_input_tokens"] == 400
    fields = {
        "spend_usd",
        "spend_micros",
        "input_tokens",
        "cached_input_tokens",
        "output_tokens",
        "requests",
        "refused",
    }
    assert fields <= set(report["by_bot"]["shop"])

    day = tenant.call("GET", "/v1/usage", query={"period": f"{month}-{dd}"}).json
    assert day["spend_micros"] == 5000 and list(day["by_day"]) == [f"{month}-{dd}"]
    assert tenant.call("GET", "/v1/usage", query={"period": "2020-01"}).json["requests"] == 0
    bad = tenant.call("GET", "/v1/usage", query={"period": "2026-13"})
    assert bad.status == 400 and bad.error["param"] == "period"


def test_turns_that_never_reach_the_model_count_in_usage_with_one_update(tenant: TenantHandle) -> None:
    put_limits(tenant, monthly_budget_usd=1, monthly_request_quota=100)
    spend(tenant, 1500, bot="shop", model="gpt-4o")
    profile, records = tenant_of(tenant), list[dict[str, Any]]()
    calls: list[str] = []
    events = stores().usage.table.meta.client.meta.events
    events.register("before-call.dynamodb.*", lambda model, **_: calls.append(model.name), unique_id="count-unbilled")
    set_metrics_sink(records.append)
    try:
        budget.record_unbilled_turn(profile, bot_id="shop", model="atende-instant-answer", refused=False)
        assert calls == ["UpdateItem"]
        budget.record_unbilled_turn(profile, bot_id="help", model="atende-handoff", refused=False)
        budget.record_unbilled_turn(profile, bot_id="shop", model="atende-moderation", refused=True)
    finally:
        set_metrics_sink(None)
        events.unregister("before-call.dynamodb.*", unique_id="count-unbilled")
    assert calls == ["UpdateItem"] * 3

    report = tenant.call("GET", "/v1/usage").json
    assert (report["requests"], report["refused"], report["spend_micros"]) == (3, 1, 1500)
    assert report["by_bot"]["shop"]["requests"] == 2 and report["by_bot"]["shop"]["refused"] == 1
    assert report["by_bot"]["help"]["requests"] == 1 and report["by_bot"]["help"]["spend_micros"] == 0
    assert report["by_model"]["atende-instant-answer"]["requests"] == 1
    refusals = report["by_model"]["atende-moderation"]
    assert (refusals["requests"], refusals["refused"]) == (0, 1)
    assert int(counter(tenant)["requests"]) == 1, "the request quota counts the calls that reach a model"
    assert [r.get("Requests") for r in records] == [1, 1, None]
    assert records[2]["Refused"] == 1 and records[0]["tenant"] == tenant.id and records[0]["bot"] == "shop"
    assert all(r["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["Stage"]] for r in records), "no metric per tenant"


# --- the local stack's alarm evaluation ---------------------------------------------------------
@pytest.fixture
def evaluator(containers: Containers) -> Iterator[AlarmEvaluator]:
    local = AlarmEvaluator(containers, stage="test", interval=3600).install()
    yield local
    local.stop()


@pytest.fixture
def notifications() -> str:
    """An SQS queue subscribed to the notifications topic, to see what soft alarms send."""
    sqs, sns = boto3.client("sqs"), boto3.client("sns")
    url = sqs.create_queue(QueueName=f"notifications-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=get_settings().notifications_topic_arn, Protocol="sqs", Endpoint=arn)
    return str(url)


def received(url: str, tenant_id: str) -> list[dict[str, Any]]:
    messages = boto3.client("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    alarms = [json.loads(json.loads(m["Body"])["Message"]) for m in messages]
    return [a for a in alarms if f"-tenant-{tenant_id}-" in a["AlarmName"]]


def test_local_alarms_notify_suspend_and_resume(
    api: ApiClient, root_key: str, tenant: TenantHandle, evaluator: AlarmEvaluator, notifications: str
) -> None:
    put_limits(tenant, monthly_budget_usd="0.01", soft_limit_percent=50)
    prefix = f"atende-test-tenant-{tenant.id}-"
    evaluator.evaluate_once(prefix=prefix)  # first look: spend 0, both alarms OK

    spend(tenant, 6_000)  # 60 %: over the soft threshold
    changes = evaluator.evaluate_once(prefix=prefix)
    assert [(c["alarm"], c["new"]) for c in changes] == [(prefix + "monthly-budget-soft", "ALARM")]
    evaluator.evaluate_once(prefix=prefix)  # still over: no second notification
    soft = received(notifications, tenant.id)
    assert [(a["AlarmName"], a["NewStateValue"]) for a in soft] == [(prefix + "monthly-budget-soft", "ALARM")]
    assert soft[0]["Trigger"]["MetricName"] == "MonthToDateCostMicros"
    assert status(api, root_key, tenant.id)["status"] == "active"

    spend(tenant, 4_000)  # exactly the budget
    changes = evaluator.evaluate_once(prefix=prefix)
    assert (prefix + "monthly-budget", "ALARM") in [(c["alarm"], c["new"]) for c in changes]
    suspended = status(api, root_key, tenant.id)
    assert suspended["status"] == "suspended" and "monthly budget" in suspended["status_reason"]
    with pytest.raises(LimitExceeded):
        policy.ensure_active(tenant_of(tenant))

    put_limits(tenant, monthly_budget_usd="0.05", soft_limit_percent=50)  # raising the limit...
    changes = evaluator.evaluate_once(prefix=prefix)
    assert (prefix + "monthly-budget", "OK") in [(c["alarm"], c["new"]) for c in changes]
    assert status(api, root_key, tenant.id)["status"] == "active"  # ...resumes the tenant
    assert received(notifications, tenant.id) == [], "the soft alarm's OK sends nothing"


def test_global_gauge_and_template_alarm_are_evaluated_locally(evaluator: AlarmEvaluator) -> None:
    alarms = boto3.client("cloudwatch").describe_alarms(AlarmNames=["atende-test-global-daily-budget"])
    assert alarms["MetricAlarms"], "the template's global alarm is created in moto"
    evaluator.run_schedules()
    stage_only = evaluator.recorded("GlobalDayToDateCostMicros")
    assert stage_only and stage_only[-1].dimensions == (("Stage", "test"),)
    evaluator.evaluate_once(prefix="atende-test-global", schedules=False)
    assert evaluator.states["atende-test-global-daily-budget"] == "OK", "tests spend far less than 100 USD a day"


def test_moderation_metrics_reach_the_local_alarm_evaluator(
    tenant: TenantHandle, upstream: FakeOpenAI, evaluator: AlarmEvaluator
) -> None:
    credential = {"api_key": "sk-test-moderation-0000", "base_url": upstream.base_url}
    assert tenant.call("PUT", "/v1/credentials/openai", json_body=credential).status == 200
    moderation.gate(tenant.id, "I will kill you", ModerationPolicy(mode="input"), "input", Deadline(8))
    # One series for the deployment (the tenant and the gate are properties of the line, not dimensions).
    points = evaluator.recorded("ModerationFlagged")
    assert [(p.dimensions, p.value) for p in points] == [((("Stage", "test"),), 1.0)]
