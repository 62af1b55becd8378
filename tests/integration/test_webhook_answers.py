"""The webhook answer in a flow's loop (Qflow and the like): a history to feed back, every response, parsed JSON."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.support import ChatSetup, make_bot


def _completion(*replies: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-loop",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": "gpt-4o-mini",
        "choices": [
            {"index": i, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
            for i, text in enumerate(replies)
        ],
        "usage": {"prompt_tokens": 50, "completion_tokens": 10 * len(replies), "total_tokens": 50 + 10 * len(replies)},
    }


def _system_messages(setup: ChatSetup) -> list[Any]:
    return [m for m in setup.chat_requests()[-1].json["messages"] if m["role"] == "system"]


def test_a_history_fed_back_as_is_keeps_the_prompt_from_growing(setup: ChatSetup) -> None:
    history: list[Any] = []
    sent_sizes = []
    for question in ["¿cuánto tarda el envío?", "¿y las devoluciones?", "¿qué tallas tienen?"]:
        answer = setup.chat({"message": question, "history": json.dumps(history), "return_history": "true"})
        assert answer.status == 200, answer.text
        history = answer.json["history"]
        assert [m["role"] for m in history][-2:] == ["user", "assistant"]
        assert all(m["role"] != "system" for m in history)
        assert len(_system_messages(setup)) == 1  # the bot's own, rebuilt by Atende: never a second copy
        sent_sizes.append(len(json.dumps(setup.chat_requests()[-1].json["messages"][1:], ensure_ascii=False)))
    assert len(history) == 6
    # each turn adds only the last question and answer to what is sent, never the system prompt again
    assert sent_sizes[2] - sent_sizes[1] < len(json.dumps(_system_messages(setup)[0], ensure_ascii=False))


def test_full_history_puts_the_system_prompt_the_model_saw_first(setup: ChatSetup) -> None:
    answer = setup.chat({"message": "hola", "return_history": "Full"})
    assert answer.status == 200, answer.text
    history = answer.json["history"]
    assert history[0] == _system_messages(setup)[0] and [m["role"] for m in history[1:]] == ["user", "assistant"]


def test_with_n_responses_the_history_holds_the_chosen_one_and_responses_all(setup: ChatSetup) -> None:
    setup.upstream.enqueue(body=_completion("Opción A", "Opción B", "Opción C"))
    answer = setup.chat({"message": "dame ideas", "n": "3", "return_history": True})
    assert answer.status == 200, answer.text
    assert answer.json["reply"] == "Opción A" and answer.json["responses"] == ["Opción A", "Opción B", "Opción C"]
    assert [(m["role"], m["content"]) for m in answer.json["history"]] == [
        ("user", "dame ideas"),
        ("assistant", "Opción A"),
    ]


def test_responses_over_the_answer_budget_are_counted_and_explained(setup: ChatSetup) -> None:
    setup.upstream.enqueue(body=_completion("a" * 2_000, "b" * 2_000, "c" * 2_000))
    answer = setup.chat({"message": "textos largos", "n": 3})
    assert answer.status == 200, answer.text
    assert len(answer.text.encode()) <= 10_000
    body = answer.json
    assert body["truncated"] is True and body["reply"] == "a" * 2_000
    assert body["responses"] == ["a" * 2_000, "b" * 2_000] and body["responses_truncated"] == 1
    assert "3 response(s) were generated and billed" in body["truncated_reason"]


def test_an_answer_under_the_budget_says_nothing_was_cut(setup: ChatSetup) -> None:
    setup.upstream.enqueue(body=_completion("uno", "dos"))
    body = setup.chat({"message": "dos ideas", "n": 2}).json
    assert body["responses"] == ["uno", "dos"] and "responses_truncated" not in body and "truncated" not in body


@pytest.mark.parametrize(
    "response_format",
    ["json", "Json", json.dumps({"type": "object", "properties": {"intent": {"type": "string"}}})],
)
def test_a_json_reply_is_parsed_into_reply_json(setup: ChatSetup, response_format: str) -> None:
    setup.upstream.enqueue(content='{"intent": "compra", "items": 2}')
    body = setup.chat({"message": "clasifica en json: quiero dos camisas", "response_format": response_format}).json
    assert body["reply_json"] == {"intent": "compra", "items": 2} and body["reply_json_valid"] is True


def test_a_reply_that_is_not_json_is_flagged(setup: ChatSetup) -> None:
    setup.upstream.enqueue(content="Claro, aquí tienes: {intent: compra")
    body = setup.chat({"message": "clasifica en json", "response_format": "json"}).json
    assert body["reply_json"] is None and body["reply_json_valid"] is False
    assert body["reply"].startswith("Claro")


def test_a_bot_answering_json_by_default_gets_reply_json(setup: ChatSetup) -> None:
    make_bot(setup.tenant, "json-bot", sampling={"response_format": "json"})
    setup.upstream.enqueue(content='{"ok": true}')
    body = setup.chat({"message": "responde en json"}, bot="json-bot").json
    assert body["reply_json"] == {"ok": True}


def test_a_text_reply_has_no_reply_json(setup: ChatSetup) -> None:
    body = setup.chat({"message": "hola", "response_format": "TEXT"}).json
    assert "reply_json" not in body and body["reply"]
