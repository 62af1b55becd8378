"""Guards around a chat turn: input/output moderation, fail-open/closed, and PII redaction before the provider."""

from __future__ import annotations

import pytest

from devtools.fake_openai import FakeOpenAI
from tests.support import ChatSetup, TenantHandle, make_bot

VIOLENT = "Voy a matar a mi vecino esta noche"


@pytest.fixture
def guarded(tenant: TenantHandle, upstream: FakeOpenAI) -> ChatSetup:
    credential = {"api_key": "sk-test-guards-0000", "base_url": upstream.base_url}
    assert tenant.call("PUT", "/v1/credentials/openai", json_body=credential).status == 200
    make_bot(tenant, moderation={"mode": "both", "refusal_message": "No puedo ayudar con eso."})
    return ChatSetup(tenant, tenant.new_key(["chat", "conversations"]), upstream)


def set_moderation(setup: ChatSetup, **policy: object) -> None:
    version = setup.tenant.call("GET", "/v1/bots/shop").json["version"]
    current = setup.tenant.call("GET", "/v1/bots/shop").json["moderation"]
    answer = setup.tenant.call(
        "PATCH", "/v1/bots/shop", json_body={"version": version, "moderation": {**current, **policy}}
    )
    assert answer.status == 200, answer.text


def moderation_requests(setup: ChatSetup) -> list:
    return [r for r in setup.upstream.requests if r.path.endswith("/moderations")]


def test_flagged_input_never_reaches_the_chat_model_and_gets_the_refusal(guarded: ChatSetup) -> None:
    answer = guarded.chat({"message": VIOLENT, "conversation_id": "g-1"})
    assert answer.status == 200, answer.text
    body = answer.json
    assert body["reply"] == "No puedo ayudar con eso." and body["flagged"] is True
    assert body["moderation"][0]["stage"] == "input" and "violence" in body["moderation"][0]["categories"]
    assert guarded.chat_requests() == [], "the chat model never saw it"
    assert len(moderation_requests(guarded)) == 1
    stored = guarded.tenant.api.call("GET", "/v1/bots/shop/conversations/g-1", key=guarded.key).json["messages"]
    assert VIOLENT not in str(stored), "the stored turn keeps the decision, not the text"


def test_flagged_input_can_hand_off_instead(guarded: ChatSetup) -> None:
    set_moderation(guarded, on_flagged_input="handoff")
    body = guarded.chat({"message": VIOLENT}).json
    assert body["handoff"] is True and body["handoff_reason"] == "moderation"
    assert guarded.chat_requests() == []


def test_flagged_output_is_replaced_before_it_leaves(guarded: ChatSetup) -> None:
    guarded.upstream.enqueue(content="Claro, así puedes matar a alguien: ...")
    answer = guarded.completions({"model": "bot:shop", "messages": [{"role": "user", "content": "hola"}]})
    assert answer.status == 200, answer.text
    choice = answer.json["choices"][0]
    assert choice["message"]["content"] == "No puedo ayudar con eso." and choice["finish_reason"] == "content_filter"
    assert answer.json["atende"]["flagged"] is True
    assert "matar" not in answer.text


def test_clean_turns_pass_both_gates(guarded: ChatSetup) -> None:
    body = guarded.chat({"message": "¿Cuánto tarda el envío?"}).json
    assert body["flagged"] is False and "3 a 5" in body["reply"]
    assert [m["stage"] for m in body["moderation"]] == ["input", "output"]
    assert len(moderation_requests(guarded)) == 2


def test_stricter_thresholds_refuse_what_openai_would_not_flag(guarded: ChatSetup) -> None:
    set_moderation(guarded, mode="input", thresholds={"violence": 0.0001, "self_harm_intent": 0.5})
    body = guarded.chat({"message": "¿Cuánto tarda el envío?"}).json
    assert body["flagged"] is True and body["moderation"][0]["categories"][0] == "violence"
    assert guarded.chat_requests() == []


def test_moderation_down_fails_open_when_the_bot_says_so(guarded: ChatSetup) -> None:
    set_moderation(guarded, mode="input", fail_mode="open")
    for _ in range(3):
        guarded.upstream.enqueue(path="/v1/moderations", status=503)
    answer = guarded.chat({"message": "¿Cuánto tarda el envío?"})
    assert answer.status == 200 and "3 a 5" in answer.json["reply"]
    record = answer.json["moderation"][0]
    assert record["error"] and record["fail_mode"] == "open"
    assert len(guarded.chat_requests()) == 1


def test_moderation_down_fails_closed_when_the_bot_says_so(guarded: ChatSetup) -> None:
    set_moderation(guarded, mode="input", fail_mode="closed")
    for _ in range(3):
        guarded.upstream.enqueue(path="/v1/moderations", status=503)
    answer = guarded.chat({"message": "¿Cuánto tarda el envío?"})
    assert answer.status == 200, "never a 5xx"
    assert answer.json["reply"] == "No puedo ayudar con eso."
    assert answer.json["moderation"][0]["fail_mode"] == "closed"
    assert guarded.chat_requests() == []


def test_redaction_masks_pii_before_the_provider_and_the_history(guarded: ChatSetup) -> None:
    set_moderation(guarded, mode="off")
    version = guarded.tenant.call("GET", "/v1/bots/shop").json["version"]
    assert (
        guarded.tenant.call("PATCH", "/v1/bots/shop", json_body={"version": version, "redact_pii": True}).status == 200
    )
    message = (
        "Hola, soy ana.souza@example.com, mi celular es +55 11 91234-5678, pagué con la tarjeta "
        "4111 1111 1111 1111 y mi CPF es 529.982.247-25. ¿Cuánto tarda el envío?"
    )
    answer = guarded.chat({"message": message, "conversation_id": "g-pii"})
    assert answer.status == 200 and "3 a 5" in answer.json["reply"], "the reply still arrives"
    sent = guarded.chat_requests()[-1].json["messages"][-1]["content"]
    stored = guarded.tenant.api.call("GET", "/v1/bots/shop/conversations/g-pii", key=guarded.key).json["messages"][0]
    for text in (sent, stored["content"]):
        for secret in ("ana.souza@example.com", "91234-5678", "4111 1111 1111 1111", "529.982.247-25"):
            assert secret not in text
        for placeholder in ("[EMAIL]", "[PHONE]", "[CARD]", "[CPF]"):
            assert placeholder in text
