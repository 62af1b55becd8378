"""Answers Atende gives itself: a disabled bot, handoff keywords, FAQ matches, refusals and guarded replies."""

from __future__ import annotations

from typing import Any, Literal

from atende.chat.handoff import Handoff, instant_answer, keyword_handoff, reply_handoff
from atende.chat.texts import handoff_text, refusal_text
from atende.chat.turns import TurnRequest, TurnResult
from atende.guards import moderation
from atende.models.bots import Bot
from atende.models.content import text_of
from atende.providers import upstream


def shortcut(bot: Bot, request: TurnRequest) -> TurnResult | None:
    """Answers that need no model: a switched-off bot, a handoff keyword, a confident FAQ match."""
    if not bot.enabled:
        return handoff_answer(bot, Handoff("bot_disabled"))
    text = request.text
    if not text:
        return None
    if handoff := keyword_handoff(text, bot.handoff):
        return handoff_answer(bot, handoff)
    if entry := instant_answer(text, bot.instant_answers):
        return local_result(entry.answer, source="instant_answer")
    return None


def handoff_answer(bot: Bot, handoff: Handoff) -> TurnResult:
    result = local_result(handoff_text(bot), source="handoff")
    result.handoff = handoff
    return result


def local_result(content: str, *, source: Literal["instant_answer", "handoff", "moderation"]) -> TurnResult:
    usage = {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
    return TurnResult(
        "", None, f"atende-{source.replace('_', '-')}", [_choice(0, content, "stop")], usage, source=source
    )


def flagged_input_answer(bot: Bot, verdict: moderation.GateDecision) -> TurnResult:
    """The refusal (or handoff) a flagged input gets, carrying the decision (categories and scores only)."""
    if bot.moderation.on_flagged_input == "handoff":
        result = handoff_answer(bot, Handoff("moderation", ",".join(verdict.categories) or verdict.error))
    else:
        result = local_result(refusal_text(bot), source="moderation")
    result.flagged = verdict.flagged
    result.moderation = [verdict.record()]
    return result


def guard_output(tenant_id: str, bot: Bot, turn: TurnResult, deadline: upstream.Deadline) -> None:
    """Model-requested handoffs, then output moderation: a flagged reply never leaves, in any field."""
    for position, choice in enumerate(turn.choices):
        if handoff := reply_handoff(choice.get("message") or {}, bot.handoff):
            turn.handoff = turn.handoff or handoff
            turn.choices[position] = _choice(choice.get("index", position), handoff_text(bot), "stop")
    if bot.moderation.mode not in ("output", "both"):
        return
    for position, choice in enumerate(turn.choices):
        text = text_of((choice.get("message") or {}).get("content"))
        if not text:
            continue
        verdict = moderation.gate(tenant_id, text, bot.moderation, "output", deadline)
        turn.moderation.append(verdict.record())
        if verdict.blocked:
            turn.flagged = True
            # A new choice, not an edited one: logprobs and other fields would still carry the flagged text.
            turn.choices[position] = _choice(choice.get("index", position), refusal_text(bot), "content_filter")


def _choice(index: int, content: str, finish_reason: str) -> dict[str, Any]:
    return {"index": index, "message": {"role": "assistant", "content": content}, "finish_reason": finish_reason}
