"""The benchmark's AWS cost model: each component's arithmetic, the token cost beside it, the crossover, and the
deployment facts it is fed (metric series from the source, the template's default Tracing)."""

from __future__ import annotations

import pytest

from bench import aws_cost
from bench.cost_model import (
    AwsPrices,
    Deployment,
    FunctionRun,
    Measured,
    Turn,
    aws_lines,
    managed_instances_crossover,
    table,
    token_cost_per_million_turns,
    xray_line,
)
from devtools.emitted_metrics import deployment_series, emitted_records
from devtools.template import load_template

PRICES = AwsPrices()
TURN = Turn(provider_seconds=2.0, dynamodb_seconds=0.005, tenants=100, turns_per_month=1_000_000)
CHAT = FunctionRun("chat", 512, own_seconds=0.004, dynamodb_round_trips=2, waits_on_provider=True)
AUTHORIZER = FunctionRun("authorizer", 256, own_seconds=0.001)
DEPLOYMENT = Deployment(metrics_per_tenant=2, metrics_deployment_wide=14, alarms_per_tenant=4, tracing="PassThrough")


def _lines(measured: Measured, deployment: Deployment = DEPLOYMENT) -> dict[str, float]:
    return {line.component: line.usd_per_million_turns for line in aws_lines(measured, TURN, deployment, PRICES)}


def test_billed_duration_adds_the_waits_to_own_code_slowed_by_the_memory_cpu_share() -> None:
    # 4 ms of full-core code at 512 MB takes 1769/512 as long: 13.8 ms; + 2 round trips x 5 ms + 2 s provider
    assert CHAT.billed_seconds(TURN) == pytest.approx(2.024)
    # at or above a full vCPU own code is not slowed
    assert FunctionRun("x", 2048, own_seconds=0.004).billed_seconds(TURN) == pytest.approx(0.004)


def test_each_component_is_priced_per_million_turns() -> None:
    lines = _lines(Measured((AUTHORIZER, CHAT), read_units=2.5, write_units=10, secrets_calls=0))
    assert lines["API Gateway REST requests"] == pytest.approx(3.50)
    assert lines["Lambda chat: requests"] == pytest.approx(0.20)
    assert lines["Lambda chat: duration"] == pytest.approx(2.024 * 0.5 * 1e6 * 0.0000133334)
    # 1 ms x 1769/256 = 6.9 ms, billed 7 ms at 256 MB
    assert lines["Lambda authorizer: duration"] == pytest.approx(0.007 * 0.25 * 1e6 * 0.0000133334)
    assert lines["DynamoDB reads (on-demand)"] == pytest.approx(2.5 * 0.125)
    assert lines["DynamoDB writes (on-demand)"] == pytest.approx(10 * 0.625)
    # 2 invocations x 1,200 bytes + 1,500 bytes of EMF = 3.9 KB per turn: 3.9 GB per million
    assert lines["CloudWatch Logs ingestion (incl. EMF)"] == pytest.approx(3.9 * 0.50)
    # monthly charges spread over the month's million turns: per tenant, and the deployment's fixed series
    assert lines["CloudWatch metrics per tenant"] == pytest.approx(100 * 2 * 0.30)
    assert lines["CloudWatch metrics, deployment-wide"] == pytest.approx(14 * 0.30)
    assert lines["CloudWatch alarms per tenant"] == pytest.approx(100 * 4 * 0.10)
    assert lines["Secrets Manager secrets"] == pytest.approx(100 * 0.40)
    assert lines["X-Ray traces"] == 0, "PassThrough records no trace"


def test_xray_is_priced_at_the_templates_tracing_and_says_what_active_would_add() -> None:
    off, on = xray_line("PassThrough", PRICES), xray_line("Active", PRICES)
    assert off.usd_per_million_turns == 0
    assert off.basis == "Tracing=PassThrough (default); Active: +5.00 USD per million turns at 100 %"
    assert on.usd_per_million_turns == pytest.approx(5.00)
    active = Deployment(2, 14, 4, tracing="Active")
    measured = Measured((CHAT,), 0, 0)
    assert _lines(measured, active)["X-Ray traces"] - _lines(measured)["X-Ray traces"] == pytest.approx(5.00)


def test_the_bench_reads_the_deployment_from_the_code_and_the_template() -> None:
    facts = aws_cost.deployment()
    assert facts.metrics_per_tenant == 2, "a tenant adds only the two spend gauges its alarms watch"
    assert facts.metrics_deployment_wide == len(deployment_series(emitted_records())) > 0
    assert facts.alarms_per_tenant == 4, "monthly and daily budget, each with a soft-limit alarm"
    template = load_template(aws_cost.TEMPLATE)
    assert facts.tracing == template["Parameters"]["Tracing"]["Default"] == "PassThrough"


def test_secrets_manager_calls_are_charged_per_ten_thousand() -> None:
    with_calls = _lines(Measured((CHAT,), 0, 0, secrets_calls=1))["Secrets Manager calls"]
    without = _lines(Measured((CHAT,), 0, 0, secrets_calls=0))["Secrets Manager calls"]
    assert with_calls - without == pytest.approx(1e6 / 10_000 * 0.05)
    assert without == 0


def test_token_cost_comes_from_atendes_price_table() -> None:
    # gpt-4o-mini: 0.15 USD in / 0.60 USD out per million tokens
    assert token_cost_per_million_turns("gpt-4o-mini", Turn(prompt_tokens=1_500, completion_tokens=150)) == 315.0
    # gpt-4.1-mini: 0.40 / 1.60
    assert token_cost_per_million_turns("gpt-4.1-mini", Turn(prompt_tokens=1_000, completion_tokens=100)) == 560.0


def test_managed_instances_cross_over_where_three_instances_cost_what_the_on_demand_duration_does() -> None:
    rate = managed_instances_crossover(CHAT, TURN, PRICES)
    on_demand_per_second = rate * 2.024 * 0.5 * 0.0000133334
    assert on_demand_per_second == pytest.approx(3 * 0.0816 * 1.15 / 3600)


def test_the_table_states_the_target_met_or_missed() -> None:
    cheap = table(Measured((AUTHORIZER, CHAT), 1, 1), Turn(tenants=1), DEPLOYMENT, PRICES)
    assert any(line.startswith("Target:") and line.endswith(", met.") for line in cheap)
    dear = table(Measured((AUTHORIZER, CHAT), 1, 1), Turn(tenants=10_000), DEPLOYMENT, PRICES)
    assert any(line.startswith("Target:") and "**missed**" in line for line in dear)


def test_monthly_charges_are_shown_apart_and_per_tenant_month() -> None:
    turn = Turn(tenants=10, turns_per_month=1_000_000)
    measured = Measured((AUTHORIZER, CHAT), read_units=1, write_units=10)
    lines = aws_lines(measured, turn, DEPLOYMENT, PRICES)
    per_tenant = {line.component for line in lines if line.monthly == "tenant"}
    assert per_tenant == {"CloudWatch metrics per tenant", "CloudWatch alarms per tenant", "Secrets Manager secrets"}
    assert {line.component for line in lines if line.monthly == "deployment"} == {"CloudWatch metrics, deployment-wide"}
    rendered = table(measured, turn, DEPLOYMENT, PRICES)
    assert "| CloudWatch metrics, deployment-wide (monthly) | 4.20 |" in "\n".join(rendered)
    per_turn = sum(line.usd_per_million_turns for line in lines if not line.monthly)
    assert any(line.startswith(f"| AWS per turn, without the monthly charges | {per_turn:.2f} |") for line in rendered)
    # 2 metrics x 0.30 + 4 alarms x 0.10 + one secret at 0.40 = 1.40 USD per tenant-month; 14 x 0.30 for all of them
    assert any("monthly charges: 1.40 USD per tenant-month, 4.20 USD per deployment-month" in line for line in rendered)
