"""What a webhook caller gets when a limit or a suspension refuses a turn, and the soft-limit state it can read."""

from __future__ import annotations

from decimal import Decimal

import pytest

from devtools.fake_openai import FakeOpenAI
from tests.support import ApiClient, ChatSetup, TenantHandle, chat_setup


@pytest.fixture
def priced(tenant: TenantHandle, upstream: FakeOpenAI) -> ChatSetup:
    return chat_setup(tenant, upstream, model="gpt-4o", sampling={"max_tokens": 100})


def _exhaust_budget(setup: ChatSetup) -> None:
    # One micro-dollar: any turn's worst case is more than the whole budget.
    answer = setup.tenant.call("PUT", "/v1/limits", json_body={"monthly_budget_usd": "0.000001"})
    assert answer.status == 200, answer.text


def test_a_webhook_turn_over_budget_is_a_handoff_with_the_bots_text(priced: ChatSetup) -> None:
    _exhaust_budget(priced)
    answer = priced.chat({"message": "¿envíos?", "conversation_id": "c-budget"})
    assert answer.status == 200, answer.text
    assert answer.json["handoff"] is True and answer.json["handoff_reason"] == "budget_exhausted"
    assert answer.json["handoff_detail"] == "monthly_budget_exceeded"
    assert answer.json["source"] == "handoff" and answer.json["cost_usd"] == "0.000000"
    assert (
        answer.json["reply"] == "Our assistant is not available right now. A person on our team will get back to you."
    )
    assert priced.chat_requests() == [], "the refused turn never reached the model"
    report = priced.tenant.call("GET", "/v1/usage").json
    assert report["refused"] == 1 and report["requests"] == 0


def test_a_bot_can_keep_the_429_and_its_own_limit_text(priced: ChatSetup) -> None:
    patch = {"version": 1, "handoff": {"on_limit_refusal": "error"}}
    assert priced.tenant.call("PATCH", "/v1/bots/shop", json_body=patch).status == 200
    _exhaust_budget(priced)
    answer = priced.chat({"message": "¿envíos?"})
    assert answer.status == 429 and answer.error["code"] == "monthly_budget_exceeded"

    # A merge patch keeps what it does not name: the handoff comes back only when asked for.
    patch = {"version": 2, "handoff": {"limit_message": "Volvemos pronto."}}
    assert priced.tenant.call("PATCH", "/v1/bots/shop", json_body=patch).status == 200
    answer = priced.chat({"message": "¿envíos?"})
    assert answer.status == 429 and answer.error["code"] == "monthly_budget_exceeded"

    patch = {"version": 3, "handoff": {"on_limit_refusal": "handoff"}}
    assert priced.tenant.call("PATCH", "/v1/bots/shop", json_body=patch).status == 200
    answer = priced.chat({"message": "¿envíos?"})
    assert answer.status == 200 and answer.json["reply"] == "Volvemos pronto.", answer.text


def test_the_openai_route_keeps_its_429_over_budget(priced: ChatSetup) -> None:
    _exhaust_budget(priced)
    answer = priced.completions({"model": "bot:shop", "messages": [{"role": "user", "content": "hola"}]})
    assert answer.status == 429 and answer.error["code"] == "monthly_budget_exceeded"


def test_a_suspended_tenant_hands_webhook_turns_off_and_refuses_the_openai_route(
    api: ApiClient, root_key: str, priced: ChatSetup
) -> None:
    patch = {"version": 1, "language": "pt"}
    assert priced.tenant.call("PATCH", "/v1/bots/shop", json_body=patch).status == 200
    suspend = {"reason": "unpaid invoice"}
    path = f"/v1/admin/tenants/{priced.tenant.id}/suspend"
    assert api.call("POST", path, key=root_key, json_body=suspend).status == 200
    answer = priced.chat({"message": "oi"})
    assert answer.status == 200, answer.text
    assert answer.json["handoff"] is True and answer.json["handoff_reason"] == "tenant_suspended"
    assert answer.json["reply"].startswith("Nosso assistente não está disponível")
    refused = priced.completions({"model": "bot:shop", "messages": [{"role": "user", "content": "oi"}]})
    assert refused.status == 403 and refused.error["code"] == "tenant_suspended"
    assert priced.chat_requests() == []


def test_soft_limit_state_is_in_limits_usage_and_the_webhook_answer(priced: ChatSetup) -> None:
    limits = {"monthly_budget_usd": 10, "soft_limit_percent": 50}
    view = priced.tenant.call("PUT", "/v1/limits", json_body=limits)
    assert view.status == 200, view.text
    assert view.json["soft_limit"] == {
        "reached": False,
        "budget": "monthly",
        "percent": 50,
        "spend_usd": 0,
        "limit_usd": 5,
        "budget_usd": 10,
    }
    priced.upstream.enqueue(usage={"prompt_tokens": 100, "completion_tokens": 10, "total_tokens": 110})
    answer = priced.chat({"message": "¿envíos?"})
    assert answer.status == 200, answer.text
    spent = Decimal(answer.json["cost_usd"])
    assert spent > 0
    soft = answer.json["soft_limit"]
    assert soft["reached"] is False and Decimal(str(soft["spend_usd"])) == spent and soft["limit_usd"] == 5

    # A lower budget puts the same spend past its soft limit: 1 % of 0.0005 USD.
    lowered = priced.tenant.call(
        "PUT", "/v1/limits", json_body={"monthly_budget_usd": "0.0005", "soft_limit_percent": 1}
    )
    assert lowered.status == 200, lowered.text
    assert lowered.json["soft_limit"]["reached"] is True
    assert Decimal(str(lowered.json["soft_limit"]["spend_usd"])) == spent
    usage = priced.tenant.call("GET", "/v1/usage").json
    assert usage["soft_limit"]["reached"] is True and Decimal(str(usage["soft_limit"]["limit_usd"])) == Decimal(
        "0.000005"
    )


def test_no_soft_limit_reads_as_null(priced: ChatSetup) -> None:
    assert priced.tenant.call("GET", "/v1/limits").json["soft_limit"] is None
    assert priced.tenant.call("GET", "/v1/usage").json["soft_limit"] is None
    answer = priced.chat({"message": "¿envíos?"})
    assert answer.status == 200 and answer.json["soft_limit"] is None
