"""Prompt assembly (a byte-stable system message) and history trimming to a token budget."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from atende.platform.errors import InvalidRequest
from atende.providers.tokens import REPLY_PRIMING_TOKENS, count_message, count_message_tokens

if TYPE_CHECKING:
    from atende.chat.turns import TurnRequest
    from atende.models.bots import Bot

KNOWLEDGE_BASE_HEADER = "## Knowledge base"
INSTRUCTIONS_HEADER = "## Instructions: {name}"
SUMMARY_HEADER = "## Summary of the earlier conversation"
EXTRA_SYSTEM_HEADER = "## Instructions for this reply"
SECTION_SEPARATOR = "\n\n"

SUMMARY_INSTRUCTION = (
    "You keep a running summary of a customer-support conversation between a user and an assistant. "
    "You receive the previous summary (it may be empty) and the oldest turns, which are about to be removed "
    "from the conversation. Fold both into one updated summary that replaces the previous one. "
    "Keep what later replies may need: who the user is, what they asked for, facts and identifiers they gave "
    "(order numbers, dates, products, amounts), what the assistant answered or promised, decisions made and "
    "questions still open. Leave out greetings, small talk and repetition. "
    "Be concise: short plain sentences or bullet points, no headings, no preamble. "
    "Write the summary in the language the conversation is held in. Reply with the summary text only."
)


def _clean(text: str | None) -> str:
    """Deterministic normalisation of a section: unified newlines, no surrounding whitespace."""
    if not text:
        return ""
    return text.replace("\r\n", "\n").replace("\r", "\n").strip()


def build_system_prompt(
    *,
    rules: str,
    knowledge_base: str,
    prompts: Sequence[tuple[str, str]],
    extra_system: str | None = None,
    summary: str | None = None,
) -> str:
    """The single system message: rules, knowledge base, selected prompts, then summary and per-call text.

    The output is a pure function of the arguments (no clock, no dict iteration), so the same bot and
    selection yield the same bytes on every turn. Empty parts are left out with their headers. A prompt
    name selected twice is used once, at its first position.
    """
    sections: list[str] = []
    if body := _clean(rules):
        sections.append(body)
    if body := _clean(knowledge_base):
        sections.append(f"{KNOWLEDGE_BASE_HEADER}\n\n{body}")
    seen: set[str] = set()
    for name, text in prompts:
        label = " ".join(name.split())
        body = _clean(text)
        if not body or label in seen:
            continue
        seen.add(label)
        sections.append(f"{INSTRUCTIONS_HEADER.format(name=label)}\n\n{body}")
    # OpenAI's prompt cache matches the longest identical prefix of the request, so everything per bot
    # (above) comes first and the parts that change go last, ordered by how often they change:
    # the summary only changes when history gets trimmed, while `extra_system` may differ on every call
    # (webhook flows template it per contact). Placing them after the stable sections keeps the cached
    # prefix intact whatever they hold, and per-call instructions last sit closest to the conversation.
    if body := _clean(summary):
        sections.append(f"{SUMMARY_HEADER}\n\n{body}")
    if body := _clean(extra_system):
        sections.append(f"{EXTRA_SYSTEM_HEADER}\n\n{body}")
    return SECTION_SEPARATOR.join(sections)


@dataclass(slots=True)
class PromptPlan:
    """The messages to send, the history left out to fit the budget, and the estimated prompt tokens."""

    messages: list[dict[str, Any]]
    trimmed: list[dict[str, Any]] = field(default_factory=list)
    prompt_tokens: int = 0


def _is_tool_result(message: Mapping[str, Any]) -> bool:
    return message.get("role") in {"tool", "function"}


def _units(history: Sequence[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """History split into units that are kept or dropped whole: a message, or a tool call with its results."""
    units: list[list[dict[str, Any]]] = []
    for message in history:
        if _is_tool_result(message) and units and (units[-1][0].get("tool_calls") or units[-1][0].get("function_call")):
            units[-1].append(message)
        else:
            units.append([message])
    return units


def build_messages(
    *,
    system: str,
    history: Sequence[dict[str, Any]],
    user_content: str | list[Any] | None = None,
    token_budget: int,
    tail: Sequence[dict[str, Any]] | None = None,
) -> PromptPlan:
    """System message, the newest history that fits `token_budget`, and the user message.

    History (oldest first, in OpenAI message shape) loses its oldest messages first. An assistant message
    with `tool_calls` and the tool results after it are dropped together, never split, and tool results
    left without their call at the start of history are always dropped (the API rejects them).
    The system and user messages are always sent, even when they alone exceed the budget; then every
    history message is trimmed. An empty `system` sends no system message.
    """
    head: list[dict[str, Any]] = [{"role": "system", "content": system}] if system else []
    # `tail` replaces the single user message when a turn brings other messages (e.g. tool results).
    new: list[dict[str, Any]] = list(tail) if tail is not None else [{"role": "user", "content": user_content}]
    fixed = REPLY_PRIMING_TOKENS + sum(count_message(m) for m in head) + sum(count_message(m) for m in new)

    units = _units(history)
    trimmed: list[dict[str, Any]] = []
    while units and _is_tool_result(units[0][0]):  # orphaned tool results
        trimmed.extend(units.pop(0))

    costs = [sum(count_message(m) for m in unit) for unit in units]
    total = fixed + sum(costs)
    start = 0
    while start < len(units) and total > token_budget:
        total -= costs[start]
        trimmed.extend(units[start])
        start += 1

    kept = [message for unit in units[start:] for message in unit]
    messages = [*head, *kept, *new]
    return PromptPlan(messages=messages, trimmed=trimmed, prompt_tokens=total)  # per-message counts add up


def _render_content(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content.strip()
    if isinstance(content, list):
        pieces: list[str] = []
        for part in content:
            if isinstance(part, str):
                pieces.append(part.strip())
            elif isinstance(part, Mapping) and part.get("type") == "text":
                pieces.append(str(part.get("text") or "").strip())
            elif isinstance(part, Mapping) and part.get("type") == "refusal":
                pieces.append(str(part.get("refusal") or "").strip())
            elif isinstance(part, Mapping):
                pieces.append(f"[{str(part.get('type') or 'attachment').replace('_url', '')}]")
        return " ".join(piece for piece in pieces if piece)
    return str(content).strip()


def _render_tool_calls(message: Mapping[str, Any]) -> list[str]:
    calls = list(message.get("tool_calls") or [])
    if message.get("function_call"):
        calls.append({"function": message["function_call"]})
    lines: list[str] = []
    for call in calls:
        function = call.get("function") if isinstance(call, Mapping) else None
        if not isinstance(function, Mapping):
            function = {}
        arguments = function.get("arguments") or ""
        if not isinstance(arguments, str):
            arguments = json.dumps(arguments, ensure_ascii=False, sort_keys=True)
        lines.append(f"Assistant called tool {function.get('name') or 'unknown'}({arguments})")
    return lines


_ROLE_LABELS = {"user": "User", "assistant": "Assistant", "system": "System", "developer": "System"}


def history_for_summary(trimmed: Sequence[Mapping[str, Any]]) -> str:
    """Dropped turns as plain text ("User: ...", "Assistant: ...") for the summarisation prompt."""
    lines: list[str] = []
    for message in trimmed:
        role = str(message.get("role") or "")
        text = _render_content(message.get("content"))
        if _is_tool_result(message):
            name = message.get("name")
            label = f"Tool result ({name})" if name else "Tool result"
            if text:
                lines.append(f"{label}: {text}")
            continue
        if text:
            lines.append(f"{_ROLE_LABELS.get(role, role.capitalize() or 'Message')}: {text}")
        if role == "assistant":
            lines.extend(_render_tool_calls(message))
    return "\n".join(lines)


def drop_unanswered_tool_calls(history: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """History without tool calls that never got their results (OpenAI refuses such a conversation).

    A stored reply can carry `tool_calls` the caller never answered (it moved on with a user message):
    its text is kept when it has any, the calls are dropped, and results that answer no call are dropped too.
    """
    cleaned: list[dict[str, Any]] = []
    for position, message in enumerate(history):
        calls = message.get("tool_calls") or []
        if calls:
            answered = {m.get("tool_call_id") for m in history[position + 1 :] if _is_tool_result(m)}
            if not all(call.get("id") in answered for call in calls):
                if message.get("content"):
                    cleaned.append({k: v for k, v in message.items() if k != "tool_calls"})
                continue
        cleaned.append(message)  # the same object: callers map kept messages back to their stored items
    called = {call.get("id") for m in cleaned for call in m.get("tool_calls") or []}
    return [m for m in cleaned if not (_is_tool_result(m) and m.get("tool_call_id") not in called)]


def turn_prompt(
    bot: Bot | None, request: TurnRequest, past: list[dict[str, Any]], summary: str | None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The messages to send and the history trimmed to fit the bot's budget."""
    past = drop_unanswered_tool_calls(past)
    if bot is None:  # passthrough: the caller's messages as sent
        return [*past, *request.new_messages], []
    names = request.prompts if request.prompts is not None else bot.default_prompts
    unknown = [name for name in names if name not in bot.prompts]
    if unknown:
        raise InvalidRequest(
            f"prompts: {', '.join(unknown)} not defined on bot '{bot.id}' "
            f"(it has: {', '.join(sorted(bot.prompts)) or 'none'}).",
            param="prompts",
        )
    system = build_system_prompt(
        rules=bot.rules,
        knowledge_base=bot.knowledge_base,
        prompts=[(name, bot.prompts[name]) for name in names],
        extra_system=request.extra_system,
        summary=summary,
    )
    fixed = count_message_tokens([{"role": "system", "content": system}, *request.new_messages])
    plan = build_messages(
        system=system, history=past, tail=request.new_messages, token_budget=bot.history.max_history_tokens + fixed
    )
    return plan.messages, plan.trimmed
