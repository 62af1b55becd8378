"""Stored idempotent answers: kept as the text that was sent, and read back from older records too."""

from __future__ import annotations

from atende.chat.idempotency import StoredAnswer


def test_a_stored_answer_round_trips_its_exact_text() -> None:
    answer = StoredAnswer('{"reply":"Envíos","b":1,"a":2}', "application/json", "req-1")
    again = StoredAnswer.from_record(answer.record())
    assert again == answer and not again.replayed


def test_a_record_stored_as_an_object_still_replays_as_json() -> None:
    again = StoredAnswer.from_record({"reply": "Envíos", "request_id": "req-0"})
    assert again.body == '{"reply":"Envíos","request_id":"req-0"}' and again.content_type == "application/json"
    assert again.status == 200 and again.request_id == "req-0"
