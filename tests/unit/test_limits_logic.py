"""Limits logic without AWS: turn cost, effective limits, refusals, periods, alarm definitions, EMF records."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from pydantic import ValidationError

from atende.billing import alarms, holds, metrics, policy, refusals, values
from atende.billing.periods import day_reset, month_reset, periods, usd_text
from atende.billing.pricing import PRICES
from atende.guards import moderation
from atende.models.bots import ModerationPolicy
from atende.models.limits import AlarmNotification, Limits, LimitsSpec, OperatorLimitsSpec, PriceOverride, TenantLimits
from atende.platform.errors import InvalidRequest
from atende.platform.metrics import set_metrics_sink
from atende.platform.settings import Settings
from atende.providers.upstream import Deadline
from devtools.alarms import _evaluate_math, datapoints

MOMENT = datetime(2026, 12, 31, 22, 15, tzinfo=UTC)


@pytest.fixture(autouse=True)
def settings(monkeypatch: pytest.MonkeyPatch) -> Settings:
    fake = Settings(
        table_name="unit",
        stage="unit",
        limits_topic_arn="arn:aws:sns:us-east-1:123456789012:atende-unit-limits",
        notifications_topic_arn="arn:aws:sns:us-east-1:123456789012:atende-unit-notifications",
    )
    monkeypatch.setattr(metrics, "get_settings", lambda: fake)
    monkeypatch.setattr(alarms, "get_settings", lambda: fake)
    return fake


# --- cost ---------------------------------------------------------------------------------------
def test_turn_cost_is_price_times_reported_usage_to_the_micro_dollar_with_cached_tokens() -> None:
    usage = values.Usage.from_openai(
        {"prompt_tokens": 1000, "completion_tokens": 200, "prompt_tokens_details": {"cached_tokens": 600}}
    )
    assert usage == values.Usage(input_tokens=1000, cached_input_tokens=600, output_tokens=200)
    # gpt-4o: 2.50 USD / 1M input, 1.25 cached, 10.00 output -> 400 x 2.5 + 600 x 1.25 + 200 x 10 = 3750 micros
    assert policy.turn_cost(PRICES["gpt-4o"], usage) == 3750
    exact = (Decimal("2.50") * 400 + Decimal("1.25") * 600 + Decimal("10.00") * 200) / 1_000_000
    assert Decimal(policy.turn_cost(PRICES["gpt-4o"], usage)) / 1_000_000 == exact


def test_turn_cost_rounds_a_fraction_of_a_micro_dollar_up_once() -> None:
    usage = values.Usage(input_tokens=7, cached_input_tokens=3, output_tokens=5)
    # gpt-4o-mini: 4 x 0.15 + 3 x 0.075 + 5 x 0.60 = 3.825 micros -> 4
    assert policy.turn_cost(PRICES["gpt-4o-mini"], usage) == 4
    assert policy.turn_cost(None, usage) == 0


def test_a_provider_never_caches_more_than_the_prompt() -> None:
    usage = values.Usage(input_tokens=10, cached_input_tokens=50, output_tokens=0)
    assert usage.counts()["cached_input_tokens"] == 10
    assert policy.turn_cost(PRICES["gpt-4o"], usage) == 13  # 10 x 1.25 = 12.5 -> 13


# --- limits -------------------------------------------------------------------------------------
def test_effective_limits_are_the_lower_of_tenant_and_operator_field_by_field() -> None:
    tenant = Limits.from_spec(LimitsSpec(monthly_budget_usd=Decimal("50"), daily_budget_usd=Decimal("5")))
    operator = Limits.from_spec(OperatorLimitsSpec(monthly_budget_usd=Decimal("20.5"), rate_limit_rps=3))
    effective = tenant.lower(operator)
    assert effective.monthly_budget_micros == 20_500_000 and effective.daily_budget_micros == 5_000_000
    assert effective.rate_limit_rps == 3 and effective.monthly_token_quota is None
    assert effective.has_budget and effective.has_rate_limits and not Limits().has_budget


@pytest.mark.parametrize(
    "body", [{"monthly_budget_usd": "1.0000001"}, {"monthly_budget_usd": -1}, {"soft_limit_percent": 101}, {"x": 1}]
)
def test_limits_spec_refuses_bad_values(body: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        LimitsSpec.model_validate(body)


def test_limits_spec_takes_strings_and_numbers_without_floats_in_storage() -> None:
    spec = LimitsSpec.model_validate({"monthly_budget_usd": "12.345678", "daily_budget_usd": 0.1})
    assert Limits.from_spec(spec).monthly_budget_micros == 12_345_678
    assert Limits.from_spec(spec).daily_budget_micros == 100_000
    assert json.loads(spec.model_dump_json())["monthly_budget_usd"] == "12.345678"


def config(budget: str | None = "10", **overrides: PriceOverride) -> TenantLimits:
    spec = LimitsSpec(monthly_budget_usd=Decimal(budget) if budget else None)
    return TenantLimits(tenant=spec, operator=OperatorLimitsSpec(price_overrides=overrides), holds={})


def test_prices_come_from_overrides_then_the_table_and_a_budget_needs_one() -> None:
    override = PriceOverride(input_usd_per_million=Decimal("1"), output_usd_per_million=Decimal("2"))
    assert policy.model_price(config(**{"gpt-4o": override}), "gpt-4o-2024-08-06") == override.price()
    assert policy.model_price(config(), "gpt-4o") == PRICES["gpt-4o"]
    assert policy.model_price(config(budget=None), "my-llama") is None
    with pytest.raises(InvalidRequest) as refused:
        policy.model_price(config(), "my-llama")
    assert refused.value.param == "model" and refused.value.code == "model_not_priced"


def test_caps_subtract_the_estimate_because_conditions_cannot() -> None:
    caps = refusals.caps_for(
        Limits(monthly_budget_micros=1000, daily_budget_micros=300, monthly_request_quota=5), 200, 0
    )
    assert (caps.month_micros, caps.day_micros, caps.tokens, caps.requests) == (800, 100, None, 4)


def test_a_call_that_is_not_a_request_is_outside_the_request_quota_but_not_the_budget() -> None:
    quota = Limits(monthly_budget_micros=1000, monthly_request_quota=5)
    caps = refusals.caps_for(quota, 200, 0, requests=0)  # a conversation summary
    assert (caps.month_micros, caps.requests) == (800, None)


def test_refusals_name_the_binding_limit_and_its_reset() -> None:
    both = Limits(monthly_budget_micros=1_000_000, daily_budget_micros=500_000)
    over_month = refusals.refusal_for(both, {"committed": 950_000, "dc_31": 100_000}, 100_000, 0, MOMENT)
    assert (over_month.code, over_month.param, over_month.status) == (
        "monthly_budget_exceeded",
        "monthly_budget_usd",
        429,
    )
    assert "1.00 USD" in over_month.message and "2027-01-01T00:00:00Z" in over_month.message
    assert over_month.headers == {"x-should-retry": "false", "retry-after": str(105 * 60)}
    over_day = refusals.refusal_for(both, {"committed": 600_000, "dc_31": 450_000}, 100_000, 0, MOMENT)
    assert over_day.code == "daily_budget_exceeded" and "2027-01-01T00:00:00Z" in over_day.message
    too_big = refusals.refusal_for(both, {}, 2_000_000, 0, MOMENT)
    assert "more than the whole monthly budget" in too_big.message and "max_tokens" in too_big.message
    tokens = refusals.refusal_for(Limits(monthly_token_quota=100), {"committed_tokens": 90}, 0, 20, MOMENT)
    assert tokens.code == "monthly_token_quota_exceeded" and tokens.param == "monthly_token_quota"


def test_periods_and_resets_are_utc_calendar_months_and_days() -> None:
    assert periods(MOMENT) == ("2026-12", "31")
    assert month_reset(MOMENT) == datetime(2027, 1, 1, tzinfo=UTC)
    assert day_reset(datetime(2026, 2, 28, 23, 59, tzinfo=UTC)) == datetime(2026, 3, 1, tzinfo=UTC)
    assert [usd_text(m) for m in (12_500_000, 125, 0, 1_000_000)] == ["12.50", "0.000125", "0.00", "1.00"]


# --- alarms -------------------------------------------------------------------------------------
def test_alarm_definitions_hard_to_the_limits_topic_soft_to_notifications(settings: Settings) -> None:
    definitions = alarms.alarm_definitions("shop-1", Limits(monthly_budget_micros=10_000_000, soft_limit_percent=80))
    by_name = {d["AlarmName"]: d for d in definitions}
    hard, soft = (
        by_name["atende-unit-tenant-shop-1-monthly-budget"],
        by_name["atende-unit-tenant-shop-1-monthly-budget-soft"],
    )
    assert hard["Threshold"] == 10_000_000 and soft["Threshold"] == 8_000_000
    assert hard["AlarmActions"] == hard["OKActions"] == [settings.limits_topic_arn]
    assert soft["AlarmActions"] == [settings.notifications_topic_arn] and soft["OKActions"] == []
    assert hard["Dimensions"] == [{"Name": "Stage", "Value": "unit"}, {"Name": "Tenant", "Value": "shop-1"}]
    assert hard["MetricName"] == "MonthToDateCostMicros" and hard["Statistic"] == "Maximum"
    assert alarms.alarm_definitions("shop-1", Limits(rate_limit_rps=3)) == []


def test_alarm_names_parse_back_to_tenant_and_limit_even_with_hyphens() -> None:
    assert alarms.parse_alarm_name("atende-unit-tenant-shop-1-daily-budget") == ("shop-1", "daily_budget")
    assert alarms.parse_alarm_name("atende-unit-tenant-a-monthly-budget") == ("a", "monthly_budget")
    assert alarms.parse_alarm_name("atende-unit-global-daily-budget") == (None, "global_daily_budget")
    assert alarms.parse_alarm_name("atende-unit-tenant-shop-1-daily-budget-soft") is None
    assert alarms.parse_alarm_name("atende-prod-tenant-shop-1-daily-budget") is None, "another stage's alarm"


def test_a_tenant_owns_only_the_alarms_that_parse_back_to_it() -> None:
    definitions = alarms.alarm_definitions(
        "co1-br", Limits(monthly_budget_micros=1, daily_budget_micros=1, soft_limit_percent=50)
    )
    names = [d["AlarmName"] for d in definitions]
    assert all(name.startswith(alarms.alarm_prefix("co1")) for name in names), "the prefix alone cannot tell"
    owners = [alarms.alarm_tenant(name) for name in names]
    assert owners == [("co1-br", d["AlarmName"].split("-co1-br-")[1]) for d in definitions]
    assert alarms.alarm_tenant("atende-unit-tenant-co1-daily-budget-soft") == ("co1", "daily-budget-soft")
    assert alarms.alarm_tenant("atende-unit-tenant-a-monthly-budget-monthly-budget") == (
        "a-monthly-budget",
        "monthly-budget",
    )
    assert alarms.alarm_tenant("atende-unit-tenant-co1-something") is None
    assert alarms.alarm_tenant("atende-unit-global-daily-budget") is None


def test_holds_say_which_limit_and_when_it_resets() -> None:
    hold = holds.hold_for("daily_budget", Limits(daily_budget_micros=2_500_000), MOMENT)
    assert hold.code == "daily_budget_exceeded" and hold.param == "daily_budget_usd"
    assert "daily budget of 2.50 USD" in hold.message and hold.resets_at == "2027-01-01T00:00:00Z"
    assert holds.hold_for("global_daily_budget", Limits(), MOMENT).code == "global_daily_budget_exceeded"


def test_alarm_notification_reads_cloudwatch_sns_message() -> None:
    message = {
        "AlarmName": "atende-unit-tenant-t1-monthly-budget",
        "AlarmDescription": None,
        "AWSAccountId": "123456789012",
        "NewStateValue": "ALARM",
        "NewStateReason": "Threshold Crossed: 1 out of the last 1 datapoints [1.0E7 (21/11/26 10:00:00)] was >= 1.0E7",
        "StateChangeTime": "2026-11-21T10:01:00.123+0000",
        "Region": "US East (N. Virginia)",
        "OldStateValue": "OK",
        "Trigger": {"MetricName": "MonthToDateCostMicros", "Dimensions": [{"value": "t1", "name": "Tenant"}]},
    }
    note = AlarmNotification.model_validate_json(json.dumps(message))
    assert note.NewStateValue == "ALARM" and note.dimension("Tenant") == "t1" and note.dimension("Stage") is None


# --- metrics ------------------------------------------------------------------------------------
@pytest.fixture
def records(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    captured: list[dict[str, Any]] = []
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "chat")  # must not turn into a dimension
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    set_metrics_sink(captured.append)
    yield captured
    set_metrics_sink(None)


def test_turn_metrics_and_gauges_in_emf(records: list[dict[str, Any]]) -> None:
    metrics.emit_turn_metrics("t1", "shop", "gpt-4o", 3750, values.Usage(1000, 600, 200), anomaly=True)
    metrics.emit_gauges("t1", 3850, 3790)
    counters, gauges = records
    # A turn's counters are per stage: the tenant is a property (a top-level key of the line), not a dimension.
    assert counters["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["Stage"]]
    assert (counters["Stage"], counters["tenant"], counters["bot"], counters["model"]) == (
        "unit",
        "t1",
        "shop",
        "gpt-4o",
    )
    assert "Tenant" not in counters
    # One value per metric, written as a number: Logs Insights reads `CostMicros` itself (a list is `CostMicros.0`).
    assert (counters["CostMicros"], counters["InputTokens"], counters["CachedInputTokens"]) == (3750, 1000, 600)
    assert counters["OutputTokens"] == 200 and counters["Requests"] == 1
    assert counters["UsageAnomalies"] == 1, "a report past the reservation is counted"
    assert {(p.name, p.dimensions) for p in datapoints(counters)} >= {
        ("CostMicros", (("Stage", "unit"),)),
        ("UsageAnomalies", (("Stage", "unit"),)),
    }
    # The gauges the tenant's alarms watch are the only per-tenant metrics, in one dimension set.
    assert gauges["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["Stage", "Tenant"]]
    assert (gauges["MonthToDateCostMicros"], gauges["DayToDateCostMicros"]) == (3850, 3790)
    assert {(p.name, p.dimensions, p.value) for p in datapoints(gauges)} == {
        ("MonthToDateCostMicros", (("Stage", "unit"), ("Tenant", "t1")), 3850),
        ("DayToDateCostMicros", (("Stage", "unit"), ("Tenant", "t1")), 3790),
    }


def test_refused_turns_and_the_global_gauge(records: list[dict[str, Any]]) -> None:
    metrics.emit_turn_metrics("t1", refused=True)
    metrics.emit_global_gauge(123)
    refused, global_gauge = records
    assert refused["Refused"] == 1 and "Requests" not in refused
    assert refused["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["Stage"]] and refused["tenant"] == "t1"
    assert global_gauge["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["Stage"]]
    assert [(p.name, p.dimensions, p.value) for p in datapoints(global_gauge)] == [
        ("GlobalDayToDateCostMicros", (("Stage", "unit"),), 123.0)
    ]


def test_moderation_counts_go_through_the_same_sink(
    records: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch, settings: Settings
) -> None:
    answer = {
        "id": "modr-1",
        "model": "omni-moderation-latest",
        "results": [{"flagged": True, "categories": {"violence": True}, "category_scores": {"violence": 0.9}}],
    }
    monkeypatch.setattr(moderation.upstream, "moderation", lambda *_args: SimpleNamespace(body=answer))
    monkeypatch.setattr(moderation, "get_settings", lambda: settings)
    moderation.gate("t1", "text", ModerationPolicy(mode="input"), "input", Deadline(5))
    [record] = records
    assert record["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["Stage"]]
    assert (record["Stage"], record["tenant"], record["gate"]) == ("unit", "t1", "input")
    assert (record["ModerationChecks"], record["ModerationBlocked"]) == (1, 1)


def test_local_evaluator_computes_the_global_alarm_metric_math() -> None:
    assert _evaluate_math("spentMicros / 1000000", {"spentMicros": 2_500_000}) == 2.5
    assert _evaluate_math("m / 1000000", {"m": None}) is None
    with pytest.raises(ValueError, match="cannot compute"):
        _evaluate_math("SUM(METRICS())", {})
