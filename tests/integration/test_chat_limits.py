"""Spend limits through real chat turns: concurrency never overshoots, costs match the price table exactly."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest

from atende.billing.pricing import cost_micros, resolve_price
from devtools.fake_openai import FakeOpenAI
from tests.support import Answer, ChatSetup, TenantHandle, make_bot

pytestmark = pytest.mark.serial  # concurrent or timed: run alone (see the Makefile's test target)


@pytest.fixture
def priced(tenant: TenantHandle, upstream: FakeOpenAI) -> ChatSetup:
    credential = {"api_key": "sk-test-limits-0000", "base_url": upstream.base_url}
    assert tenant.call("PUT", "/v1/credentials/openai", json_body=credential).status == 200
    # These tests read the refusal itself: the bot answers the 429 rather than a handoff.
    make_bot(tenant, model="gpt-4o", sampling={"max_tokens": 100}, handoff={"on_limit_refusal": "error"})
    return ChatSetup(tenant, tenant.new_key(["chat", "conversations"]), upstream)


def test_a_turn_costs_the_price_table_times_the_reported_usage_cached_tokens_included(priced: ChatSetup) -> None:
    usage = {
        "prompt_tokens": 2000,
        "completion_tokens": 300,
        "total_tokens": 2300,
        "prompt_tokens_details": {"cached_tokens": 1536},
    }
    priced.upstream.enqueue(usage=usage)
    # A long question and room for 400 output tokens: the reservation covers what the upstream reports.
    answer = priced.chat({"message": "¿envíos? " + "detalle " * 2000, "max_tokens": 400})
    assert answer.status == 200, answer.text
    assert "anomaly" not in answer.json.get("raw", {})
    price = resolve_price("gpt-4o")
    assert price is not None
    expected = cost_micros(price, input_tokens=2000, cached_input_tokens=1536, output_tokens=300)
    # 464 uncached x $2.50/M + 1536 cached x $1.25/M + 300 x $10/M = 1160 + 1920 + 3000 µ$
    assert expected == 6080
    assert answer.json["cost_usd"] == "0.006080"
    assert answer.json["usage"]["cached_tokens"] == 1536
    report = priced.tenant.call("GET", "/v1/usage").json
    assert Decimal(str(report["spend_usd"])) == Decimal("0.006080")
    assert report["cached_input_tokens"] == 1536


def test_usage_reported_past_the_reservation_is_billed_at_the_reservation(priced: ChatSetup) -> None:
    """An upstream the tenant points base_url at may report anything: it cannot bill past what was held."""
    priced.upstream.enqueue(usage={"prompt_tokens": 1_000_000_000, "completion_tokens": 10, "total_tokens": 10**9})
    answer = priced.chat({"message": "¿envíos?", "conversation_id": "c-anomaly"})
    assert answer.status == 200, answer.text
    billed = Decimal(answer.json["cost_usd"])
    assert Decimal(0) < billed < Decimal("0.01"), "billed at the reservation (this turn's worst case), not 2,500 USD"
    report = priced.tenant.call("GET", "/v1/usage").json
    assert Decimal(str(report["spend_usd"])) == billed
    stored = priced.tenant.api.call("GET", "/v1/bots/shop/conversations/c-anomaly", key=priced.key).json["messages"]
    anomaly = stored[-1]["turn"]["anomaly"]
    assert anomaly["reported_cost_micros"] > 2_000_000_000 and anomaly["reserved_micros"] == int(billed * 1_000_000)


def test_fifty_concurrent_chats_never_spend_past_the_budget(priced: ChatSetup) -> None:
    # One turn's worst case here is ~1,750 µ$ (≈300 prompt tokens at $2.50/M + 100 output at $10/M):
    # a $0.0175 budget covers about ten of them.
    limits = priced.tenant.call("PUT", "/v1/limits", json_body={"monthly_budget_usd": "0.0175"})
    assert limits.status == 200, limits.text
    answers: list[Answer] = []
    lock, barrier = threading.Lock(), threading.Barrier(50)

    def turn(i: int) -> None:
        barrier.wait()
        answer = priced.chat({"message": f"¿Cuánto tarda el envío? ({i})", "max_tokens": 100})
        with lock:
            answers.append(answer)

    threads = [threading.Thread(target=turn, args=(i,)) for i in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    billed = [a for a in answers if a.status == 200]
    refused = [a for a in answers if a.status != 200]
    assert len(billed) + len(refused) == 50 and billed and refused
    for answer in refused:
        assert answer.status == 429, answer.text
        assert answer.error["code"] == "monthly_budget_exceeded" and "budget" in answer.error["message"]
    spent = sum(Decimal(a.json["cost_usd"]) for a in billed)
    assert spent <= Decimal("0.0175")
    report = priced.tenant.call("GET", "/v1/usage").json
    assert Decimal(str(report["spend_usd"])) == spent, "the counter equals the sum of the billed turns"
    assert report["requests"] == len(billed) and report["refused"] == len(refused)
    assert len([r for r in priced.chat_requests()]) == len(billed), "refused turns never reached the model"


def test_a_pricier_fallback_is_reserved_for_up_front(priced: ChatSetup, backup_upstream: FakeOpenAI) -> None:
    backup = {"api_key": "sk-test-backup-0000", "base_url": backup_upstream.base_url}
    assert priced.tenant.call("PUT", "/v1/credentials/backup", json_body=backup).status == 200
    patch = {"version": 1, "model": "gpt-4o-mini", "fallbacks": [{"provider": "backup", "model": "gpt-4o"}]}
    assert priced.tenant.call("PATCH", "/v1/bots/shop", json_body=patch).status == 200
    # Enough for a gpt-4o-mini worst case (~60 µ$), not for gpt-4o's (~1,750 µ$): refused before any call.
    assert priced.tenant.call("PUT", "/v1/limits", json_body={"monthly_budget_usd": "0.0005"}).status == 200
    for _ in range(3):
        priced.upstream.enqueue(status=503)
    answer = priced.chat({"message": "¿envíos?"})
    assert answer.status == 429 and answer.error["code"] == "monthly_budget_exceeded"
    assert priced.chat_requests() == [] and backup_upstream.requests == []
    report = priced.tenant.call("GET", "/v1/usage").json
    assert Decimal(str(report["spend_usd"])) == 0
