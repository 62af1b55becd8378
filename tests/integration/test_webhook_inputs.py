"""Webhook bodies as no-code tools send them: forms, JSON as text/plain, any spelling of the media type."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest

from tests.support import Answer, ChatSetup, TenantHandle


def _post(setup: ChatSetup, path: str, body: str | bytes, content_type: str) -> Answer:
    return setup.tenant.api.call("POST", path, key=setup.key, data=body, headers={"Content-Type": content_type})


def _sent_user_message(setup: ChatSetup) -> object:
    return setup.chat_requests()[-1].json["messages"][-1]["content"]


@pytest.mark.parametrize(
    "content_type",
    [
        "application/x-www-form-urlencoded",
        "application/x-www-form-urlencoded; charset=utf-8",
        "Application/X-WWW-Form-URLEncoded",
    ],
)
def test_a_form_body_is_a_turn_with_the_same_fields(setup: ChatSetup, content_type: str) -> None:
    history = json.dumps(
        [{"role": "user", "content": "hola"}, {"role": "assistant", "content": "¡Hola! ¿En qué te ayudo?"}]
    )
    form = urlencode(
        {
            "message": "¿cuánto tarda el envío?",
            "conversation_id": "zap-1",
            "history": history,
            "temperature": "0.3",
            "n": "1",
        }
    )
    answer = _post(setup, "/v1/bots/shop/chat", form, content_type)
    assert answer.status == 200, answer.text
    assert answer.json["conversation_id"] == "zap-1" and answer.json["reply"]
    sent = setup.chat_requests()[-1].json
    assert sent["messages"][-1]["content"] == "¿cuánto tarda el envío?"
    assert [m["content"] for m in sent["messages"][-3:-1]] == ["hola", "¡Hola! ¿En qué te ayudo?"]
    assert sent["temperature"] == 0.3


@pytest.mark.parametrize("content_type", ["text/plain", "text/plain; charset=utf-8", "Text/Plain"])
def test_json_sent_as_text_plain_is_read_as_json(setup: ChatSetup, content_type: str) -> None:
    answer = _post(
        setup, "/v1/bots/shop/chat", json.dumps({"message": "¿hacen envíos?", "use_history": "false"}), content_type
    )
    assert answer.status == 200, answer.text
    assert _sent_user_message(setup) == "¿hacen envíos?"


def test_the_json_media_type_is_matched_case_insensitively(setup: ChatSetup) -> None:
    body = json.dumps({"message": "hola"})
    answer = _post(setup, "/v1/bots/shop/chat", body, "Application/JSON; charset=UTF-8")
    assert answer.status == 200, answer.text
    completions = json.dumps({"model": "bot:shop", "messages": [{"role": "user", "content": "hola"}]})
    assert _post(setup, "/v1/chat/completions", completions, "APPLICATION/JSON").status == 200


def test_text_plain_that_is_not_json_is_a_400_naming_the_body(setup: ChatSetup) -> None:
    answer = _post(setup, "/v1/bots/shop/chat", "hola, ¿hacen envíos?", "text/plain")
    assert answer.status == 400 and answer.error["param"] == "body"


def test_a_form_without_a_message_is_a_400_naming_message(setup: ChatSetup) -> None:
    answer = _post(
        setup, "/v1/bots/shop/chat", urlencode({"conversation_id": "zap-2"}), "application/x-www-form-urlencoded"
    )
    assert answer.status == 400 and answer.error["param"] == "message"


@pytest.mark.parametrize(
    ("content_type", "body"),
    [("application/xml", "<message>hola</message>"), ("multipart/form-data; boundary=x", "--x--")],
)
def test_other_media_types_get_a_415_naming_what_is_accepted(setup: ChatSetup, content_type: str, body: str) -> None:
    answer = _post(setup, "/v1/bots/shop/chat", body, content_type)
    assert answer.status == 415 and answer.error["param"] == "Content-Type"
    for accepted in ("application/json", "application/x-www-form-urlencoded", "text/plain", content_type.split(";")[0]):
        assert accepted in answer.error["message"]


def test_the_completions_route_stays_json_only(setup: ChatSetup) -> None:
    answer = _post(setup, "/v1/chat/completions", urlencode({"model": "bot:shop"}), "application/x-www-form-urlencoded")
    assert answer.status == 415 and answer.error["param"] == "Content-Type"


def test_a_form_over_256_kb_is_a_413(setup: ChatSetup) -> None:
    answer = _post(
        setup, "/v1/bots/shop/chat", urlencode({"message": "x" * 300_000}), "application/x-www-form-urlencoded"
    )
    assert answer.status == 413 and answer.error["param"] == "message"
    assert not setup.chat_requests()


def test_the_flat_moderation_route_takes_forms_and_text_plain(tenant: TenantHandle, setup: ChatSetup) -> None:
    key = tenant.new_key(["moderate"])
    for content_type, body in [
        ("application/x-www-form-urlencoded", urlencode({"text": "quero morrer, vou te matar"})),
        ("text/plain", json.dumps({"input": "quero morrer, vou te matar"})),
    ]:
        answer = tenant.api.call("POST", "/v1/moderate", key=key, data=body, headers={"Content-Type": content_type})
        assert answer.status == 200, answer.text
        assert answer.json["flagged"] is True


def test_the_openapi_document_lists_the_accepted_media_types(setup: ChatSetup) -> None:
    document = setup.tenant.api.call("GET", "/openapi.json").json
    for path in ("/v1/bots/{bot}/chat", "/v1/moderate"):
        content = document["paths"][path]["post"]["requestBody"]["content"]
        assert set(content) == {"application/json", "application/x-www-form-urlencoded", "text/plain"}
    assert set(document["paths"]["/v1/chat/completions"]["post"]["requestBody"]["content"]) == {"application/json"}
