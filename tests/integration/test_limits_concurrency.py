"""Budget reservations under concurrency: 50 turns at once never spend past a budget that covers about 10,
and a turn that costs more than its reservation is billed in full and only ever overshoots by its own excess."""

from __future__ import annotations

import random
import threading
import time
import uuid
from dataclasses import dataclass, field

import pytest

from atende.billing import periods, reservations, values
from atende.platform.deadline import Deadline, bounded
from atende.platform.errors import LimitExceeded
from atende.platform.retry import attempts
from atende.platform.settings import get_settings
from atende.store import stores
from atende.store.conversations import conversation_pk
from atende.store.counters import Contended
from tests.support import TenantHandle

pytestmark = pytest.mark.serial  # concurrent or timed: run alone (see the Makefile's test target)

TURNS = 50
BUDGET_MICROS = 1_000_000  # 1 USD
WORST_CASE_MICROS = 100_000  # each turn may cost up to 0.10 USD: the budget covers 10 of them
UNDERESTIMATE_MICROS = 50_000  # what a provider reporting more than the worst case bills on top of it
TURN_DEADLINE_SECONDS = 25  # the longest a bot may set: 50 turns at once on 2 cores queue a while


@dataclass
class Outcome:
    billed: list[int] = field(default_factory=list)
    refused: list[LimitExceeded] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def run_turns(handle: TenantHandle, cost_of: list[int]) -> Outcome:
    """Each thread runs a turn's billing steps: reserve, 'call the model', settle with its messages, or release."""
    tenant, outcome = stores().tenants.require(handle.id), Outcome()
    barrier = threading.Barrier(len(cost_of))

    def turn(i: int) -> None:
        with bounded(Deadline(TURN_DEADLINE_SECONDS)):  # as inside a chat turn
            _turn(i)

    def _turn(i: int) -> None:
        usage = values.Usage(input_tokens=400, cached_input_tokens=100, output_tokens=200)
        try:
            barrier.wait()
            reservation = reservations.reserve(tenant, f"req-{uuid.uuid4().hex}", WORST_CASE_MICROS, tokens=800)
        except LimitExceeded as refused:
            with outcome.lock:
                outcome.refused.append(refused)
            return
        except BaseException as error:
            with outcome.lock:
                outcome.errors.append(error)
            return
        try:
            time.sleep(random.uniform(0, 0.02))  # the upstream call
            cost = cost_of[i]
            message = {
                "Put": {
                    "TableName": stores().usage.name,
                    "Item": {"PK": conversation_pk(handle.id, "shop", f"c{i}"), "SK": "MSG#0000000001", "n": i},
                    "ConditionExpression": "attribute_not_exists(PK)",
                }
            }
            operations = reservations.settlement_operations(reservation, cost, usage, bot_id="shop", model="gpt-4o")
            for attempt in attempts():  # as the turn's own transaction does: again while contended, in the deadline
                try:
                    stores().counters.transact([message, *operations], token=f"turn-{reservation.request_id}-{attempt}")
                    break
                except Contended:
                    continue
            else:
                raise RuntimeError("the settlement stayed contended")
            with outcome.lock:
                outcome.billed.append(min(cost, reservation.amount_micros))
        except BaseException as error:
            with outcome.lock:
                outcome.errors.append(error)
            reservations.release(reservation)

    threads = [threading.Thread(target=turn, args=(i,)) for i in range(len(cost_of))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return outcome


def month_counter(handle: TenantHandle) -> dict:
    month, _ = periods.periods(periods.utc())
    return stores().counters.month_totals(handle.id, get_settings().budget_counter_shards, month)


@pytest.fixture
def budgeted(tenant: TenantHandle) -> TenantHandle:
    answer = tenant.call("PUT", "/v1/limits", json_body={"monthly_budget_usd": BUDGET_MICROS / 1_000_000})
    assert answer.status == 200, answer.text
    return tenant


def test_fifty_concurrent_worst_case_turns_bill_exactly_the_budget(budgeted: TenantHandle) -> None:
    outcome = run_turns(budgeted, [WORST_CASE_MICROS] * TURNS)

    assert outcome.errors == []
    assert len(outcome.billed) == 10 and len(outcome.refused) == 40
    assert sum(outcome.billed) == BUDGET_MICROS
    for refused in outcome.refused:
        assert refused.code == "monthly_budget_exceeded" and refused.param == "monthly_budget_usd"
        assert "monthly budget of 1.00 USD" in refused.message and "resets at" in refused.message
    counter = month_counter(budgeted)
    assert int(counter["spent"]) == sum(outcome.billed) == int(counter["committed"])
    assert counter["held"] == [], "every reservation was settled"
    usage = budgeted.call("GET", "/v1/usage").json
    assert (usage["spend_micros"], usage["requests"], usage["refused"]) == (BUDGET_MICROS, 10, 40)


def test_turns_cheaper_than_their_worst_case_never_overshoot_either(budgeted: TenantHandle) -> None:
    costs = [random.randint(20_000, WORST_CASE_MICROS) for _ in range(TURNS)]
    outcome = run_turns(budgeted, costs)

    assert outcome.errors == []
    assert len(outcome.billed) + len(outcome.refused) == TURNS
    assert len(outcome.billed) >= 10, "freed budget goes to later turns"
    assert sum(outcome.billed) <= BUDGET_MICROS
    assert all(r.code == "monthly_budget_exceeded" for r in outcome.refused)
    counter = month_counter(budgeted)
    assert int(counter["spent"]) == sum(outcome.billed) == int(counter["committed"])
    assert budgeted.call("GET", "/v1/usage").json["spend_micros"] == sum(outcome.billed)


def test_turns_reported_past_their_reservation_are_billed_at_it_and_never_pass_the_budget(
    budgeted: TenantHandle,
) -> None:
    """Turns one after another, each reported at 0.15 USD against its 0.10 USD reservation."""
    tenant, usage = stores().tenants.require(budgeted.id), values.Usage(400, 0, 200)
    billed: list[int] = []
    with pytest.raises(LimitExceeded) as refused:
        for _ in range(TURNS):
            reservation = reservations.reserve(tenant, f"req-{uuid.uuid4().hex}", WORST_CASE_MICROS, tokens=800)
            cost = WORST_CASE_MICROS + UNDERESTIMATE_MICROS
            operations = reservations.settlement_operations(reservation, cost, usage, bot_id="b", model="m")
            reservations.settle_alone(reservation, operations)
            billed.append(min(cost, reservation.amount_micros))
    assert refused.value.code == "monthly_budget_exceeded"

    counter = month_counter(budgeted)
    assert int(counter["spent"]) == int(counter["committed"]) == sum(billed), "the counter holds what was billed"
    assert len(billed) == 10 and sum(billed) == BUDGET_MICROS, "each at its reservation: exactly the budget"
    for amount in (1, WORST_CASE_MICROS):
        with pytest.raises(LimitExceeded):
            reservations.reserve(tenant, f"req-{uuid.uuid4().hex}", amount)
    assert budgeted.call("GET", "/v1/usage").json["spend_micros"] == sum(billed)


def test_concurrent_turns_reported_past_their_reservations_never_pass_the_budget(budgeted: TenantHandle) -> None:
    outcome = run_turns(budgeted, [WORST_CASE_MICROS + UNDERESTIMATE_MICROS] * TURNS)

    assert outcome.errors == [] and len(outcome.billed) + len(outcome.refused) == TURNS
    counter = month_counter(budgeted)
    assert int(counter["spent"]) == int(counter["committed"]) == BUDGET_MICROS
    assert counter["held"] == []
    with pytest.raises(LimitExceeded):
        reservations.reserve(stores().tenants.require(budgeted.id), f"req-{uuid.uuid4().hex}", 1)
