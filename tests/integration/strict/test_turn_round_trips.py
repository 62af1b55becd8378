"""A warm turn's DynamoDB round trips, and a bot change applying to the very next turn (caches as in production)."""

from __future__ import annotations

import uuid

import pytest

from atende.billing import periods
from atende.platform.settings import get_settings
from atende.store import stores
from devtools.fake_openai import FakeOpenAI
from devtools.strict_dynamodb import StrictControl
from tests.support import ApiClient, ChatSetup, chat_setup, create_tenant

pytestmark = pytest.mark.serial  # counts the layer's rounds of calls: nothing else may talk to DynamoDB meanwhile

# Every call waits this long, so calls issued together overlap in the layer and calls issued one after the other
# do not: the layer's idle → busy transitions then count the turn's sequential round trips.
LATENCY_MS = 400
OPERATIONS = ("GetItem", "Query", "TransactWriteItems", "UpdateItem", "PutItem", "BatchGetItem")


@pytest.fixture
def warm_setup(strict_api: ApiClient, root_key: str, upstream: FakeOpenAI) -> ChatSetup:
    tenant = create_tenant(strict_api, root_key)
    return chat_setup(tenant, upstream, deadline_seconds=20)


def _rounds_of(control: StrictControl, call: object) -> tuple[object, int]:
    control.reset()
    for operation in OPERATIONS:
        control.fault(operation, "latency", latency_ms=LATENCY_MS)
    answer = call()  # type: ignore[operator]
    rounds = control.counts().get("rounds", 0)
    control.faults()
    return answer, rounds


@pytest.mark.parametrize("with_budget", [False, True])
def test_a_warm_turn_waits_for_one_round_trip_before_the_provider_and_one_after(
    warm_setup: ChatSetup, control: StrictControl, with_budget: bool
) -> None:
    if with_budget:
        limits = {"monthly_budget_usd": 100, "daily_budget_usd": 10}
        assert warm_setup.tenant.call("PUT", "/v1/limits", json_body=limits).status == 200
    conversation = f"c-{uuid.uuid4().hex[:8]}"
    for text in ("hola", "¿hacen envíos?"):  # the container has seen the tenant and the bot
        assert warm_setup.chat({"message": text, "conversation_id": conversation}).status == 200

    answer, rounds = _rounds_of(
        control, lambda: warm_setup.chat({"message": "¿y las devoluciones?", "conversation_id": conversation})
    )

    assert answer.status == 200, answer.text  # type: ignore[attr-defined]
    assert answer.json["handoff"] is False, answer.json  # type: ignore[attr-defined]
    # tenant, bot, history and the budget hold together; then the messages with the settlement
    assert rounds == 2
    assert _held_micros(warm_setup.tenant.id) == 0  # settled exactly once, nothing left held
    stored = warm_setup.tenant.call("GET", f"/v1/bots/shop/conversations/{conversation}", key=warm_setup.key)
    assert [m["content"] for m in stored.json["messages"] if m["role"] == "user"] == [
        "hola",
        "¿hacen envíos?",
        "¿y las devoluciones?",
    ]


def test_switching_a_bot_off_stops_the_very_next_turn(warm_setup: ChatSetup, control: StrictControl) -> None:
    conversation = f"c-{uuid.uuid4().hex[:8]}"
    first = warm_setup.chat({"message": "hola", "conversation_id": conversation})
    assert first.status == 200 and first.json["handoff"] is False, first.text
    calls_before = len(warm_setup.chat_requests())

    patched = warm_setup.tenant.call("PATCH", "/v1/bots/shop", json_body={"enabled": False, "version": 1})
    assert patched.status == 200, patched.text
    answer = warm_setup.chat({"message": "¿sigues ahí?", "conversation_id": conversation})

    assert answer.status == 200, answer.text
    assert answer.json["handoff"] is True and answer.json["handoff_reason"] == "bot_disabled", answer.json
    assert len(warm_setup.chat_requests()) == calls_before  # the model was not called
    assert _held_micros(warm_setup.tenant.id) == 0  # a hold made beside the reads was given back


def _held_micros(tenant_id: str) -> int:
    """What the tenant's month counters hold beyond what was spent (read consistently)."""
    month, _ = periods.periods(periods.utc())
    totals = stores().counters.month_totals(tenant_id, get_settings().budget_counter_shards, month)
    return int(totals["committed"]) - int(totals["spent"])
