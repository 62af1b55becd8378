"""Conversation summaries under spend limits: reserved like a turn, skipped when refused, settled, released."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest

from atende.billing import periods, reservations, values
from atende.chat import summaries
from atende.models.bots import Bot
from atende.platform.settings import get_settings
from atende.providers.upstream import Deadline
from atende.store import stores
from atende.store.conversations import History
from devtools.fake_openai import FakeOpenAI
from tests.support import ChatSetup, TenantHandle, chat_setup

SUMMARY_USAGE = {"completion_tokens": summaries.SUMMARY_MAX_TOKENS}  # a summary as long as it may be
LONG_MESSAGE = (
    "Mi pedido número {n} no llegó todavía; lo compré hace dos semanas con envío estándar a Valparaíso y el "
    "seguimiento dice que sigue en bodega. ¿Pueden revisar qué pasó y cuándo llega, por favor?"
)


@pytest.fixture
def priced(tenant: TenantHandle, upstream: FakeOpenAI) -> ChatSetup:
    history = {"max_history_tokens": 60, "summarize": True}
    handoff = {"on_limit_refusal": "error"}  # the refusal itself is read: a 429, not a handoff
    return chat_setup(tenant, upstream, model="gpt-4o", sampling={"max_tokens": 50}, history=history, handoff=handoff)


def summary_requests(setup: ChatSetup) -> list[Any]:
    return [r for r in setup.chat_requests() if r.json["messages"][0]["content"] == summaries.SUMMARY_INSTRUCTION]


def counter(tenant_id: str) -> dict[str, Any]:
    month, _ = periods.periods(periods.utc())
    return stores().counters.month_totals(tenant_id, get_settings().budget_counter_shards, month)


def set_budget(tenant: TenantHandle, micros: int) -> None:
    budget = str(Decimal(micros) / 1_000_000)
    answer = tenant.call("PUT", "/v1/limits", json_body={"monthly_budget_usd": budget})
    assert answer.status == 200, answer.text


def spend(tenant_id: str, cost: int) -> None:
    tenant = stores().tenants.require(tenant_id)
    reservation = reservations.reserve(tenant, f"req-{uuid.uuid4().hex}", cost, bot_id="shop", model="gpt-4o")
    usage = values.Usage(100, 0, 10)
    reservations.settle_alone(
        reservation, reservations.settlement_operations(reservation, cost, usage, bot_id="shop", model="gpt-4o")
    )


def fold(setup: ChatSetup, conversation_id: str = "c-fold") -> None:
    """Fold two trimmed messages of a conversation, as a turn that trimmed them would."""
    tenant = stores().tenants.require(setup.tenant.id)
    bot = stores().bots.get(tenant.id, "shop")
    assert isinstance(bot, Bot)
    messages = [
        {"role": "user", "content": LONG_MESSAGE.format(n=1000)},
        {"role": "assistant", "content": "Lo reviso: el envío estándar tarda de 3 a 5 días hábiles."},
    ]
    history = History(messages, last_seq=2, seqs=[1, 2])
    summaries.fold(tenant, bot, conversation_id, history, messages, Deadline(8))


# --- the summary call on its own ----------------------------------------------------------------
def test_a_summary_that_would_pass_the_budget_is_skipped_without_a_call(priced: ChatSetup) -> None:
    set_budget(priced.tenant, 10_000)
    spend(priced.tenant.id, 8_000)  # 2,000 µ$ left; a summary may cost 4,000+ (400 tokens out at $10/M)
    priced.upstream.enqueue(usage=SUMMARY_USAGE)

    fold(priced)

    assert summary_requests(priced) == [], "the reservation was refused before any call"
    held = counter(priced.tenant.id)
    assert int(held["spent"]) == int(held["committed"]) == 8_000
    report = priced.tenant.call("GET", "/v1/usage").json
    assert (report["spend_micros"], report["requests"], report["refused"]) == (8_000, 1, 0), "not a refused request"
    assert stores().conversations.recent(priced.tenant.id, "shop", "c-fold").summary is None


def test_a_summary_is_reserved_then_settled_at_its_real_cost_outside_the_request_count(priced: ChatSetup) -> None:
    set_budget(priced.tenant, 1_000_000)
    priced.upstream.enqueue(content="El cliente espera el pedido 1000.", usage=SUMMARY_USAGE)

    fold(priced)

    [request] = summary_requests(priced)
    assert request.json["max_tokens"] == summaries.SUMMARY_MAX_TOKENS
    held = counter(priced.tenant.id)
    assert held["held"] == [], "the reservation was settled"
    assert int(held["committed"]) == int(held["spent"]) > summaries.SUMMARY_MAX_TOKENS * 10
    assert int(held["requests"]) == 0, "a summary is not a request: the request quota ignores it"
    report = priced.tenant.call("GET", "/v1/usage").json
    assert report["spend_micros"] == int(held["spent"]) and report["requests"] == 0
    assert report["by_bot"]["shop"]["output_tokens"] == summaries.SUMMARY_MAX_TOKENS
    assert (
        stores().conversations.recent(priced.tenant.id, "shop", "c-fold").summary == "El cliente espera el pedido 1000."
    )


def test_a_failed_summary_call_gives_its_reservation_back(priced: ChatSetup) -> None:
    set_budget(priced.tenant, 1_000_000)
    priced.upstream.enqueue(status=400)

    fold(priced)

    assert len(summary_requests(priced)) == 1
    held = counter(priced.tenant.id)
    assert int(held["committed"]) == int(held.get("spent", 0)) == 0
    assert held["held"] == []


# --- summaries during chat turns ----------------------------------------------------------------
def test_summaries_never_push_spend_past_a_budget_the_turns_fit_in(priced: ChatSetup) -> None:
    for n in range(3):  # no budget yet: every turn past the first trims history and folds it into a summary
        assert priced.chat({"message": LONG_MESSAGE.format(n=n), "conversation_id": "c-long"}).status == 200
    assert len(summary_requests(priced)) == 2

    spent = int(counter(priced.tenant.id)["spent"])
    budget = spent + 3_000  # room for a turn (~1,600 µ$ at worst), not for a turn and its summary (4,000+ µ$)
    set_budget(priced.tenant, budget)
    priced.upstream.enqueue(content="Claro, lo reviso.")  # the turn
    priced.upstream.enqueue(usage=SUMMARY_USAGE)  # its summary, if it were called
    answer = priced.chat({"message": LONG_MESSAGE.format(n=3), "conversation_id": "c-long"})
    assert answer.status == 200, answer.text
    assert int(counter(priced.tenant.id)["spent"]) <= budget
    assert len(summary_requests(priced)) == 2, "the summary did not fit: skipped, the turn still answered"

    priced.upstream.reset()
    for n in range(4, 10):  # turns until the budget refuses one; no summary fits any more
        answer = priced.chat({"message": LONG_MESSAGE.format(n=n), "conversation_id": "c-long"})
        if answer.status != 200:
            assert answer.status == 429 and answer.error["code"] == "monthly_budget_exceeded"
            break
    held = counter(priced.tenant.id)
    assert int(held["spent"]) == int(held["committed"]) <= budget
    assert priced.tenant.call("GET", "/v1/usage").json["spend_micros"] <= budget
