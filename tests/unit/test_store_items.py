"""Fitting a message into one DynamoDB item: sizes as stored, markers, and what a cut keeps."""

from __future__ import annotations

from atende.store.items import fit_message, item_bytes, stored_json


def test_a_message_that_fits_is_returned_as_is() -> None:
    message = {"role": "assistant", "content": "hola"}
    assert fit_message(message, 1_000) == (message, False)


def test_a_cut_message_fits_its_room_counting_utf8_and_escapes() -> None:
    for text in ("ñ" * 5_000, '"' * 5_000, "\x01" * 5_000, "🙂" * 5_000):
        fitted, truncated = fit_message({"role": "assistant", "content": text}, 2_000)
        assert truncated and item_bytes(stored_json(fitted)) <= 2_000
        assert fitted["content"].startswith(text[:10]) and "[truncated by Atende:" in fitted["content"]


def test_content_parts_are_kept_as_their_text_and_tool_calls_go_when_they_alone_overflow() -> None:
    parts = [{"type": "text", "text": "a" * 3_000}, {"type": "image_url", "image_url": {"url": "data:" + "b" * 9_000}}]
    fitted, truncated = fit_message({"role": "user", "content": parts}, 2_000)
    assert truncated and fitted["content"].startswith("a" * 100)
    call = {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "x" * 5_000}}
    fitted, truncated = fit_message({"role": "assistant", "content": None, "tool_calls": [call]}, 2_000)
    assert truncated and "tool_calls" not in fitted and item_bytes(stored_json(fitted)) <= 2_000


def test_item_size_counts_attribute_names() -> None:
    assert item_bytes({"abc": "de"}) > item_bytes("de") + 3
