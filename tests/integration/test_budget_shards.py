"""Budget counter shards under limits set or lowered after spend: the shards together never pass a limit."""

from __future__ import annotations

import random
import uuid
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest

from atende.billing import periods, reservations, shares, sweep, values
from atende.billing.policy import forget
from atende.models.limits import Limits
from atende.platform.errors import LimitExceeded
from atende.platform.settings import get_settings
from atende.store import stores
from devtools.aws_local import EmbeddedAWS
from tests.support import TenantHandle

TURN_MICROS = 400


@pytest.fixture
def on_shard_zero(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every reservation tries shard 0 first, as calls that happened to land there would."""
    monkeypatch.setattr(reservations, "random", SimpleNamespace(randrange=lambda n: 0, uniform=random.uniform))


def spend(tenant_id: str, cost: int, tokens: int = 0) -> None:
    tenant = stores().tenants.require(tenant_id)
    forget(tenant_id)
    held = reservations.reserve(tenant, f"req-{uuid.uuid4().hex}", cost, tokens=tokens, bot_id="shop", model="m")
    usage = values.Usage(tokens, 0, 0)
    reservations.settle_alone(held, reservations.settlement_operations(held, cost, usage, bot_id="shop", model="m"))


def put_limits(tenant: TenantHandle, body: dict[str, Any]) -> None:
    answer = tenant.call("PUT", "/v1/limits", json_body=body)
    assert answer.status == 200, answer.text
    forget(tenant.id)


def usd(micros: int) -> str:
    return str(Decimal(micros) / 1_000_000)


def shard_counters(tenant_id: str) -> dict[int, dict[str, Any]]:
    month, dd = periods.periods(periods.utc())
    return stores().counters.shards_of(tenant_id, get_settings().budget_counter_shards, month, f"{month}-{dd}")


def spend_until_refused(tenant_id: str, turns: int = 60) -> int:
    for n in range(turns):
        try:
            spend(tenant_id, TURN_MICROS, tokens=TURN_MICROS)
        except LimitExceeded:
            return n
    raise AssertionError(f"{turns} turns and no refusal")


@pytest.mark.parametrize(
    ("field", "attr", "before"),
    [
        ("monthly_budget_usd", "committed", None),  # no budget yet
        ("daily_budget_usd", "day_committed", "1"),  # a higher one (day counters exist only under a daily budget)
    ],
)
def test_a_budget_set_after_spend_on_one_shard_is_never_passed(
    tenant: TenantHandle, on_shard_zero: None, field: str, attr: str, before: str | None
) -> None:
    if before is not None:
        put_limits(tenant, {field: before})
    for _ in range(5):
        spend(tenant.id, 1_000)  # all of it on shard 0
    budget = 6_000  # shares of 1,500: shard 0 holds 3,500 past its share
    put_limits(tenant, {field: usd(budget)})

    spend_until_refused(tenant.id)

    counters = shard_counters(tenant.id)
    total = sum(int(c.get(attr, 0)) for c in counters.values())
    assert budget - TURN_MICROS < total <= budget, "the whole budget was usable, and no more"


def test_a_token_quota_set_after_use_on_one_shard_is_never_passed(tenant: TenantHandle, on_shard_zero: None) -> None:
    for _ in range(5):
        spend(tenant.id, 0, tokens=1_000)
    quota = 6_000
    put_limits(tenant, {"monthly_token_quota": quota})

    spend_until_refused(tenant.id)

    total = sum(int(c.get("committed_tokens", 0)) for c in shard_counters(tenant.id).values())
    assert quota - TURN_MICROS < total <= quota


def test_a_budget_lowered_below_what_one_shard_spent_refuses_on_every_shard(
    tenant: TenantHandle, on_shard_zero: None
) -> None:
    put_limits(tenant, {"monthly_budget_usd": "1"})
    for _ in range(5):
        spend(tenant.id, 1_000)
    put_limits(tenant, {"monthly_budget_usd": usd(4_000)})  # shares of 1,000: shards 1-3 had room for 3,000

    assert spend_until_refused(tenant.id) == 0
    assert sum(int(c.get("committed", 0)) for c in shard_counters(tenant.id).values()) == 5_000


def test_the_minute_schedule_rebalances_spend_admitted_under_limits_a_container_still_cached(
    tenant: TenantHandle, on_shard_zero: None
) -> None:
    put_limits(tenant, {"monthly_budget_usd": usd(6_000)})
    stale = SimpleNamespace(effective=Limits())  # a container that still read no limits: its calls are unchecked
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(reservations, "tenant_limits", lambda _tenant: stale)
        for _ in range(4):
            spend(tenant.id, 1_000)
    assert int(shard_counters(tenant.id)[0]["committed"]) == 4_000  # past shard 0's share of 1,500

    assert sweep.tick()["rebalanced"] >= 1

    counters = shard_counters(tenant.id)
    assert all(
        int(counters[k].get("committed", 0)) <= shares.share(6_000, get_settings().budget_counter_shards, k)
        for k in range(get_settings().budget_counter_shards)
    )
    assert sum(int(c.get("committed", 0)) for c in counters.values()) == 4_000, "moved, not changed"
    spend_until_refused(tenant.id)
    assert 6_000 - TURN_MICROS < sum(int(c.get("committed", 0)) for c in shard_counters(tenant.id).values()) <= 6_000


# --- the plan on its own --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("held", "limit"),
    [([3_500, 0, 0, 0], 6_000), ([9_000, 100, 0, 0], 6_000), ([1_600, 1_600, 1_600, 0], 6_000), ([5, 0, 0, 0], 6)],
)
def test_a_plan_keeps_the_totals_and_leaves_no_room_past_the_limit(held: list[int], limit: int) -> None:
    counters = {k: {"committed": amount} for k, amount in enumerate(held)}
    moves = shares.over_shares(Limits(monthly_budget_micros=limit), 4, counters, lambda kind, k: {"k": f"{k}"})

    after = list(held)
    for (kind, k), move in moves.items():
        assert kind == "month"
        if move.adds["committed"] > 0:
            assert held[k] <= move.caps["committed"], "a receiver is conditioned on the room it had"
        after[k] += move.adds["committed"]
    assert sum(after) == sum(held)
    room = sum(max(0, (shares.share(limit, 4, k) or 0) - after[k]) for k in range(4))
    assert room == max(0, limit - sum(held)), "room left on the shards is exactly what the limit leaves"


# --- settling outside a turn -----------------------------------------------------------------------
def test_a_settlement_outside_a_turn_waits_for_a_slow_write_as_other_writes_outside_a_turn_do(
    tenant: TenantHandle, aws: EmbeddedAWS
) -> None:
    """Outside a turn (schedules, the tests) the window is OUTSIDE_TURN_SECONDS, not the 0.1 s a turn's deadline
    is given after it ends (0.6 s a call, with aws.GRACE_SECONDS): a settlement write that takes 0.9 s on a
    loaded machine still lands, once."""
    tenant_ = stores().tenants.require(tenant.id)
    held = reservations.reserve(tenant_, f"req-{uuid.uuid4().hex}", 1_000, tokens=0, bot_id="shop", model="m")
    control = aws.strict
    assert control is not None
    control.fault("TransactWriteItems", "latency", latency_ms=900, key=f"RESV#{tenant.id}#")
    try:
        operations = reservations.settlement_operations(held, 1_000, values.Usage(0, 0, 0), bot_id="shop", model="m")
        reservations.settle_alone(held, operations)
    finally:
        control.reset()
    assert stores().counters.reservation(tenant.id, held.request_id)["status"] == "settled"
    assert sum(int(c.get("spent", 0)) for c in shard_counters(tenant.id).values()) == 1_000


# --- refusals under contention ------------------------------------------------------------------
@pytest.mark.serial  # concurrent: run alone (see the Makefile's test target)
def test_a_shard_that_refused_is_not_written_again_while_another_is_contended(
    tenant: TenantHandle, on_shard_zero: None, aws: EmbeddedAWS
) -> None:
    shards = get_settings().budget_counter_shards
    put_limits(tenant, {"monthly_budget_usd": usd(1_000 * shards)})  # shares of 1,000
    for _ in range(shards - 1):
        spend(tenant.id, 1_000)  # shards 0, 1, 2 full: only the last has room
    control = aws.strict
    assert control is not None
    control.reset()
    conflicts = 12  # TransactionConflictException, which botocore does not retry: one per attempt of ours
    control.fault(
        "TransactWriteItems",
        "error",
        code="TransactionConflictException",
        status=400,
        count=conflicts,
        key=f"COUNTER#{tenant.id}#{shards - 1}",
    )
    try:
        spend(tenant.id, 1_000)
        writes = control.counts()["requests.TransactWriteItems"]
    finally:
        control.reset()

    # each full shard refused once; the last one answered a conflict `conflicts` times, then held it (and settled)
    assert writes == (shards - 1) + conflicts + 2
