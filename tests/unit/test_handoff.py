"""Handoff keywords, sentinels, the handoff tool, and confident instant answers (pure logic)."""

from __future__ import annotations

import json

import pytest

from atende.chat.handoff import instant_answer, keyword_handoff, reply_handoff
from atende.chat.prompt import drop_unanswered_tool_calls
from atende.models.bots import HandoffSettings, InstantAnswer

HOURS = InstantAnswer(questions=["¿Cuál es el horario de atención?"], answer="De 9 a 18 h.")


@pytest.mark.parametrize(
    ("text", "matches"),
    [
        ("¿Cuál es el horario de atención?", True),
        ("cual es el HORARIO de atencion", True),
        ("horario de atención", True),
        ("¿Cuál es el horario de atención el domingo?", False),
        ("¿Cuál es el horario de atención en Navidad?", False),
        ("¿Dónde queda la tienda?", False),
        ("horario", False),
    ],
)
def test_instant_answers_match_only_confidently(text: str, matches: bool) -> None:
    assert (instant_answer(text, [HOURS]) is HOURS) is matches


def test_keywords_match_whole_phrases_ignoring_accents_and_case() -> None:
    settings = HandoffSettings(keywords=["hablar con una persona"])
    assert keyword_handoff("Quiero HABLAR con una PERSONA!", settings) is not None
    assert keyword_handoff("no quiero hablar con nadie", settings) is None


def test_the_handoff_tool_and_the_sentinel_are_read_from_the_reply() -> None:
    settings = HandoffSettings(sentinel="😕", tool=True)
    call = {
        "id": "c1",
        "type": "function",
        "function": {"name": "handoff", "arguments": json.dumps({"reason": "angry"})},
    }
    tool = reply_handoff({"role": "assistant", "content": None, "tool_calls": [call]}, settings)
    assert tool is not None and tool.reason == "tool" and tool.detail == "angry"
    sentinel = reply_handoff({"role": "assistant", "content": "😕"}, settings)
    assert sentinel is not None and sentinel.reason == "sentinel"
    assert reply_handoff({"role": "assistant", "content": "Claro"}, settings) is None


def test_unanswered_tool_calls_are_dropped_from_history() -> None:
    call = {"id": "c1", "type": "function", "function": {"name": "order_status", "arguments": "{}"}}
    history = [
        {"role": "user", "content": "¿mi pedido?"},
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "user", "content": "olvídalo"},
    ]
    assert drop_unanswered_tool_calls(history) == [history[0], history[2]]
    answered = [*history[:2], {"role": "tool", "tool_call_id": "c1", "content": "enviado"}, history[2]]
    assert drop_unanswered_tool_calls(answered) == answered
    orphan = [{"role": "tool", "tool_call_id": "zz", "content": "x"}, history[0]]
    assert drop_unanswered_tool_calls(orphan) == [history[0]]
