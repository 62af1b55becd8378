"""Handoff to people and instant answers: what a turn decides without (or after) the model."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from atende.chat.textmatch import contains_phrase, content_words, normalize
from atende.models.bots import HandoffSettings, InstantAnswer

INSTANT_ANSWER_MIN_COVERAGE = 0.6  # of a configured question's content words, all of the text's being covered

HANDOFF_TOOL: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "handoff",
        "description": (
            "Transfer the conversation to a human agent: call it when the customer asks for a person, "
            "is upset, or needs something you cannot do."
        ),
        "parameters": {
            "type": "object",
            "properties": {"reason": {"type": "string", "description": "Why a person should take over."}},
            "required": ["reason"],
        },
    },
}


@dataclass(frozen=True)
class Handoff:
    reason: str
    detail: str | None = None


def keyword_handoff(text: str, settings: HandoffSettings) -> Handoff | None:
    for keyword in settings.keywords:
        if contains_phrase(text, keyword):
            return Handoff("keyword", keyword)
    return None


def reply_handoff(message: dict[str, Any], settings: HandoffSettings) -> Handoff | None:
    """A handoff the model asked for: the sentinel in its reply, or a call of the `handoff` tool."""
    for call in message.get("tool_calls") or []:
        function = call.get("function") or {}
        if settings.tool and function.get("name") == "handoff":
            try:
                arguments = json.loads(function.get("arguments") or "{}")
            except json.JSONDecodeError:
                arguments = {}
            return Handoff("tool", str(arguments.get("reason") or "") or None)
    content = message.get("content")
    if settings.sentinel and isinstance(content, str) and settings.sentinel in content:
        return Handoff("sentinel", settings.sentinel)
    return None


def instant_answer(text: str, answers: list[InstantAnswer]) -> InstantAnswer | None:
    """The FAQ entry whose question matches `text` confidently, if any.

    Confident means: the same question once accents, case and punctuation are set aside, or a question that
    covers every content word of the text and most of its own ("horario de atención" matches "¿Cuál es el
    horario de atención?"; "… el domingo?" does not, since "domingo" changes the answer).
    """
    asked = content_words(text)
    best, best_score = None, 0.0
    for entry in answers:
        for question in entry.questions:
            if normalize(question) == normalize(text):
                return entry
            known = content_words(question)
            if asked and known and asked <= known:
                score = len(asked) / len(known)
                if score > best_score:
                    best, best_score = entry, score
    return best if best_score >= INSTANT_ANSWER_MIN_COVERAGE else None
