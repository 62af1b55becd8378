"""The benchmark's AWS cost model: each component's arithmetic, the token cost beside it, the crossover."""

from __future__ import annotations

import pytest

from bench.cost_model import (
    AwsPrices,
    FunctionRun,
    Measured,
    Turn,
    aws_lines,
    managed_instances_crossover,
    table,
    token_cost_per_million_turns,
)

PRICES = AwsPrices()
TURN = Turn(provider_seconds=2.0, dynamodb_seconds=0.005, tenants=100, turns_per_month=1_000_000)
CHAT = FunctionRun("chat", 512, own_seconds=0.004, dynamodb_round_trips=2, waits_on_provider=True)
AUTHORIZER = FunctionRun("authorizer", 256, own_seconds=0.001)


def _lines(measured: Measured) -> dict[str, float]:
    return {line.component: line.usd_per_million_turns for line in aws_lines(measured, TURN, PRICES)}


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
    # monthly per-tenant charges spread over the month's million turns
    assert lines["CloudWatch metrics per tenant"] == pytest.approx(100 * 13 * 0.30)
    assert lines["CloudWatch alarms per tenant"] == pytest.approx(100 * 4 * 0.10)
    assert lines["Secrets Manager secrets"] == pytest.approx(100 * 0.40)


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
    cheap = table(Measured((AUTHORIZER, CHAT), 1, 1), Turn(tenants=1), PRICES)
    assert any(line.startswith("Target:") and line.endswith(", met.") for line in cheap)
    dear = table(Measured((AUTHORIZER, CHAT), 1, 1), Turn(tenants=10_000), PRICES)
    assert any(line.startswith("Target:") and "**missed**" in line for line in dear)


def test_monthly_charges_are_shown_apart_and_per_tenant_month() -> None:
    turn = Turn(tenants=10, turns_per_month=1_000_000)
    measured = Measured((AUTHORIZER, CHAT), read_units=1, write_units=10)
    lines = aws_lines(measured, turn, PRICES)
    monthly = {line.component for line in lines if line.monthly}
    assert monthly == {"CloudWatch metrics per tenant", "CloudWatch alarms per tenant", "Secrets Manager secrets"}
    rendered = table(measured, turn, PRICES)
    per_turn = sum(line.usd_per_million_turns for line in lines if not line.monthly)
    assert any(line.startswith(f"| AWS per turn, without the monthly charges | {per_turn:.2f} |") for line in rendered)
    # 13 metrics x 0.30 + 4 alarms x 0.10 + one secret at 0.40 = 4.70 USD per tenant-month
    assert any("monthly charges: 4.70 USD per tenant-month" in line for line in rendered)
