"""Idempotency-Key replays: the first answer's very bytes, marked as a replay; a key still in flight is a 409."""

from __future__ import annotations

import threading
import time

from tests.support import Answer, ChatSetup, make_bot

REPLAYED = "Idempotent-Replayed"


def _same_answer(first: Answer, replay: Answer) -> None:
    assert first.status == replay.status == 200, (first.text, replay.text)
    assert replay.text == first.text, "a replay repeats the first answer byte for byte"
    assert replay.headers["Content-Type"] == first.headers["Content-Type"]
    assert replay.headers.get(REPLAYED) == "true" and REPLAYED not in first.headers
    assert replay.headers["x-request-id"] == first.headers["x-request-id"], "it names the request it repeats"


def test_a_webhook_replay_is_byte_identical_and_says_it_is_a_replay(setup: ChatSetup) -> None:
    # Keys out of alphabetical order and non-ASCII text: a re-serialized replay would differ from the first answer.
    body = {"message": "¿Envían a Córdoba?", "conversation_id": "c-replay", "return_history": True}
    first = setup.chat(body, headers={"Idempotency-Key": "replay-webhook"})
    replay = setup.chat(body, headers={"Idempotency-Key": "replay-webhook"})
    _same_answer(first, replay)
    assert replay.json["request_id"] == replay.headers["x-request-id"]
    assert len(setup.chat_requests()) == 1


def test_a_completion_replay_is_byte_identical(setup: ChatSetup) -> None:
    body = {"model": "bot:shop", "messages": [{"role": "user", "content": "¿envíos?"}]}
    first = setup.completions(body, headers={"Idempotency-Key": "replay-json"})
    replay = setup.completions(body, headers={"Idempotency-Key": "replay-json"})
    _same_answer(first, replay)
    assert replay.headers["Content-Type"].startswith("application/json")


def test_a_stream_replay_is_the_same_stream(setup: ChatSetup) -> None:
    body = {
        "model": "bot:shop",
        "stream": True,
        "stream_options": {"include_usage": True},
        "messages": [{"role": "user", "content": "¿Cuál es el plazo de cambios?"}],
    }
    first = setup.completions(body, headers={"Idempotency-Key": "replay-stream"})
    replay = setup.completions(body, headers={"Idempotency-Key": "replay-stream"})
    _same_answer(first, replay)
    assert replay.headers["Content-Type"].startswith("text/event-stream") and replay.text.endswith("data: [DONE]\n\n")
    assert len(setup.chat_requests()) == 1


def test_a_key_still_being_answered_is_a_409_with_retry_after(setup: ChatSetup) -> None:
    make_bot(setup.tenant, "patient", deadline_seconds=25)  # the first turn waits for the second one's answer
    body = {"message": "¿envíos?", "conversation_id": "c-in-flight"}
    headers = {"Idempotency-Key": "in-flight"}
    setup.upstream.hold()  # the first request waits at the upstream until the second one is answered
    answers: list[Answer] = []
    first = threading.Thread(target=lambda: answers.append(setup.chat(body, bot="patient", headers=headers)))
    first.start()
    try:
        deadline = time.monotonic() + 30
        while not setup.chat_requests() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert setup.chat_requests(), "the first request never reached the upstream"
        second = setup.chat(body, bot="patient", headers=headers)
    finally:
        setup.upstream.release()
        first.join(timeout=60)
    assert second.status == 409 and second.error["code"] == "idempotency_in_progress"
    assert second.error["param"] == "Idempotency-Key"
    assert second.headers.get("Retry-After") == "1"
    assert answers and answers[0].status == 200, [a.text for a in answers]
    later = setup.chat(body, bot="patient", headers=headers)
    assert later.text == answers[0].text and later.headers.get(REPLAYED) == "true"


def test_an_overlong_idempotency_key_is_a_400_naming_the_header(setup: ChatSetup) -> None:
    answer = setup.chat({"message": "hola"}, headers={"Idempotency-Key": "k" * 256})
    assert answer.status == 400 and answer.error["param"] == "Idempotency-Key"
    assert len(setup.chat_requests()) == 0
