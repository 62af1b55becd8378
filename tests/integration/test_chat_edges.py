"""Chat edge cases a real integration meets: odd webhook input, SDK passthrough, odd upstream answers."""

from __future__ import annotations

import json

import boto3

from atende.platform.metrics import set_metrics_sink
from atende.providers.credentials import credential_secret_name
from tests.support import ChatSetup


def _user(text: str) -> dict:
    return {"model": "bot:shop", "messages": [{"role": "user", "content": text}]}


def test_webhook_ignores_the_context_tools_post_along_and_takes_numbers_as_text(setup: ChatSetup) -> None:
    body = {"message": 12345, "conversation_id": 5491100000000, "contact": {"uuid": "x"}, "flow": {"name": "f"}}
    answer = setup.chat(body)
    assert answer.status == 200, answer.text
    assert answer.json["conversation_id"] == "5491100000000"
    assert setup.chat_requests()[-1].json["messages"][-1]["content"] == "12345"


def test_a_history_read_back_from_atende_can_be_sent_again(setup: ChatSetup) -> None:
    first = setup.chat({"message": "¿envíos?", "conversation_id": "c-echo", "return_history": True})
    stored = setup.tenant.api.call("GET", "/v1/bots/shop/conversations/c-echo", key=setup.key).json["messages"]
    again = setup.chat({"message": "¿y tallas?", "history": stored})
    assert again.status == 200, again.text
    returned = first.json["history"]
    assert setup.chat({"message": "gracias", "history": returned}).status == 200


def test_the_returned_history_keeps_a_repeated_message(setup: ChatSetup) -> None:
    history = [{"role": "user", "content": "sí"}, {"role": "assistant", "content": "¿Confirmas el pedido?"}]
    answer = setup.chat({"message": "sí", "history": history, "return_history": True})
    roles = [(m["role"], m.get("content")) for m in answer.json["history"]]
    assert roles[:2] == [("user", "sí"), ("assistant", "¿Confirmas el pedido?")]
    assert roles[2] == ("user", "sí") and roles[3][0] == "assistant" and len(roles) == 4


def test_a_long_reply_keeps_choices_zero_under_the_webhook_budget(setup: ChatSetup) -> None:
    setup.upstream.enqueue(content="palabra " * 500)
    answer = setup.chat({"message": "cuéntame todo"})
    body = answer.json
    assert len(answer.text.encode()) <= 10_000
    assert body["choices"][0]["message"]["content"] == body["reply"] and len(body["reply"]) >= 3_000


def test_unknown_and_sdk_only_fields_are_refused_naming_them(setup: ChatSetup) -> None:
    for field in ("foo", "extra_body", "timeout", "extra_headers"):
        answer = setup.completions({**_user("hola"), field: {"model": "o1-pro"} if field == "extra_body" else 1})
        assert answer.status == 400, (field, answer.text)
        assert answer.error["param"] == field
    ok = setup.completions({**_user("hola"), "seed": 7, "user": "end-user-1", "stop": ["\n\n"]})
    assert ok.status == 200, ok.text
    sent = setup.chat_requests()[-1].json
    assert sent["seed"] == 7 and sent["user"] == "end-user-1" and sent["model"] == "gpt-4o-mini"


def test_system_messages_as_content_parts_become_text(setup: ChatSetup) -> None:
    body = {
        "model": "bot:shop",
        "messages": [
            {"role": "system", "content": [{"type": "text", "text": "Answer in English."}]},
            {"role": "user", "content": "hola"},
        ],
    }
    assert setup.completions(body).status == 200
    system = setup.chat_requests()[-1].json["messages"][0]["content"]
    assert system.endswith("## Instructions for this reply\n\nAnswer in English.")


def test_logprobs_of_a_flagged_reply_never_leave(setup: ChatSetup) -> None:
    version = setup.tenant.call("GET", "/v1/bots/shop").json["version"]
    patch = {"version": version, "moderation": {"mode": "output", "refusal_message": "No."}}
    assert setup.tenant.call("PATCH", "/v1/bots/shop", json_body=patch).status == 200
    flagged = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": "gpt-4o-mini",
        "choices": [
            {
                "index": 0,
                "finish_reason": "stop",
                "message": {"role": "assistant", "content": "voy a matar"},
                "logprobs": {"content": [{"token": "matar", "logprob": -0.1}]},
            }
        ],
        "usage": {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8},
    }
    setup.upstream.enqueue(body=flagged)
    answer = setup.completions({**_user("hola"), "logprobs": True})
    assert answer.status == 200 and "matar" not in answer.text
    assert answer.json["choices"][0]["finish_reason"] == "content_filter"


def test_a_retry_after_date_is_understood(setup: ChatSetup) -> None:
    setup.upstream.enqueue(status=429, headers={"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"})
    answer = setup.completions(_user("hola"))
    assert answer.status == 200, answer.text


def test_an_answer_that_is_not_a_completion_is_a_502_or_a_handoff(setup: ChatSetup) -> None:
    for body in ([1, 2], {"choices": None}):
        setup.upstream.enqueue(body=body)  # type: ignore[arg-type]
        compat = setup.completions(_user("hola"))
        assert compat.status == 502 and compat.error["code"] == "provider_bad_response", compat.text
    setup.upstream.enqueue(body={"choices": []})
    webhook = setup.chat({"message": "hola"})
    assert webhook.status == 200 and webhook.json["handoff_reason"] == "upstream_error"


def test_the_same_idempotency_key_on_another_bot_is_not_a_replay(setup: ChatSetup) -> None:
    setup.tenant.call("POST", "/v1/bots", json_body={"id": "other", "knowledge_base": "Otra tienda."})
    first = setup.chat({"message": "hola"}, headers={"Idempotency-Key": "k-1"})
    other = setup.chat({"message": "hola"}, bot="other", headers={"Idempotency-Key": "k-1"})
    assert first.status == 200
    assert other.status == 400 and other.error["code"] == "idempotency_key_reused", "never bot A's answer for bot B"


def test_the_stored_reply_records_how_the_turn_was_answered(setup: ChatSetup) -> None:
    setup.chat({"message": "¿envíos?", "conversation_id": "c-record"})
    messages = setup.tenant.api.call("GET", "/v1/bots/shop/conversations/c-record", key=setup.key).json["messages"]
    record = messages[-1]["turn"]
    assert record["source"] == "model" and record["cost_micros"] > 0 and record["usage"]["prompt_tokens"] > 0
    assert "turn" not in messages[0]


def test_models_retrieve_finds_a_bot(setup: ChatSetup) -> None:
    found = setup.tenant.api.call("GET", "/v1/models/bot:shop", key=setup.key)
    assert found.status == 200 and found.json["id"] == "bot:shop"
    missing = setup.tenant.api.call("GET", "/v1/models/gpt-4o", key=setup.key)
    assert missing.status == 404 and missing.error["param"] == "model"


def test_a_provider_401_never_repeats_the_providers_text(setup: ChatSetup) -> None:
    body = {
        "error": {
            "message": "Incorrect API key provided: sk-test-***0000.",
            "type": "invalid_request_error",
            "param": None,
            "code": "invalid_api_key",
        }
    }
    setup.upstream.enqueue(status=401, body=body)
    setup.upstream.enqueue(status=401, body=body)
    answer = setup.completions(_user("hola"))
    assert answer.status == 502 and "sk-test" not in answer.text
    assert json.loads(answer.text)["error"]["code"] == "provider_auth_failed"


def test_a_rotated_provider_key_takes_effect_at_the_first_401(setup: ChatSetup) -> None:

    setup.upstream.set_api_key("sk-test-primary-0000")
    assert setup.completions(_user("hola")).status == 200  # the credential is now cached in this container
    rotated = {"api_key": "sk-test-rotated-1111", "base_url": setup.upstream.base_url}
    name = credential_secret_name(setup.tenant.id, "openai")
    boto3.client("secretsmanager").put_secret_value(SecretId=name, SecretString=json.dumps(rotated))  # behind our back
    setup.upstream.set_api_key("sk-test-rotated-1111")
    answer = setup.completions(_user("hola"))
    assert answer.status == 200, answer.text
    keys = [r.headers["authorization"] for r in setup.chat_requests()[-2:]]
    assert keys == ["Bearer sk-test-primary-0000", "Bearer sk-test-rotated-1111"]


def test_a_turn_emits_its_cost_tokens_and_latency_split(setup: ChatSetup) -> None:
    records: list[dict] = []
    set_metrics_sink(records.append)
    try:
        assert setup.chat({"message": "¿envíos?"}).status == 200
    finally:
        set_metrics_sink(None)
    turn = next(r for r in records if "CostMicros" in r and r.get("tenant") == setup.tenant.id)
    # Per stage, not per tenant: the tenant and bot are properties, the fields the dashboard's Logs Insights sum.
    directive = turn["_aws"]["CloudWatchMetrics"][0]
    assert directive["Dimensions"] == [["Stage"]] and turn["Stage"] == "test" and "Tenant" not in turn
    assert turn["bot"] == "shop"
    value = {
        name: turn[name] for name in ("Requests", "InputTokens", "CostMicros", "UpstreamLatency", "GatewayOverhead")
    }
    assert value["Requests"] == 1 and value["InputTokens"] > 0 and value["CostMicros"] > 0
    assert value["UpstreamLatency"] > 0 and value["GatewayOverhead"] > 0
    assert {"UpstreamLatency", "GatewayOverhead"} <= {m["Name"] for m in directive["Metrics"]}
