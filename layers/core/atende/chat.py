"""One chat turn, end to end: bot, shortcuts, history, prompt, guards, budget, provider, storage, metrics."""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Literal

from atende import limits, moderation, providers, summaries
from atende.cache import TtlCache
from atende.errors import AtendeError, InvalidRequest, NotFound
from atende.handoff import Handoff, instant_answer, keyword_handoff, reply_handoff
from atende.models.bots import Bot
from atende.models.tenants import Tenant
from atende.observability import logger
from atende.pricing import worst_case_micros
from atende.prompting import build_messages, build_system_prompt
from atende.redaction import redact
from atende.request_params import provider_params, targets
from atende.settings import get_settings
from atende.store import stores
from atende.store.conversations import History
from atende.tokens import count_message_tokens, count_tokens


@dataclass
class TurnRequest:
    """A turn, whichever endpoint it came from (the webhook and the OpenAI-compatible form both map here)."""

    tenant_id: str
    bot_id: str | None  # None: a plain model call without a bot (OpenAI-compatible passthrough)
    request_id: str
    new_messages: list[dict[str, Any]]
    conversation_id: str | None = None
    use_history: bool = True
    client_history: list[dict[str, Any]] | None = None
    extra_system: str | None = None
    prompts: list[str] | None = None
    model: str | None = None
    params: dict[str, Any] = field(default_factory=dict)  # sampling and pass-through provider parameters
    deadline_seconds: float | None = None
    handoff_on_failure: bool = True  # webhooks answer a handoff; the OpenAI form answers the error

    @property
    def text(self) -> str:
        """The text of the new messages, for keyword, FAQ and moderation checks."""
        return "\n".join(_text_of(m.get("content")) for m in self.new_messages if m.get("role") == "user").strip()


@dataclass
class TurnResult:
    request_id: str
    conversation_id: str | None
    model: str
    choices: list[dict[str, Any]]
    usage: dict[str, Any]
    prompt_messages: list[dict[str, Any]] = field(default_factory=list)
    past_messages: list[dict[str, Any]] = field(default_factory=list)
    handoff: Handoff | None = None
    flagged: bool = False
    moderation: list[dict[str, Any]] = field(default_factory=list)
    source: Literal["model", "instant_answer", "handoff", "moderation"] = "model"
    cost_micros: int = 0
    raw: dict[str, Any] | None = None
    created: int = field(default_factory=lambda: int(time.time()))

    @property
    def reply(self) -> str:
        return _text_of(self.choices[0]["message"].get("content")) if self.choices else ""


@cache
def _tenant_cache() -> TtlCache:
    return TtlCache(get_settings().tenant_cache_seconds)


@cache
def _bot_cache() -> TtlCache:
    return TtlCache(get_settings().bot_cache_seconds)


def load_tenant(tenant_id: str) -> Tenant:
    tenant = _tenant_cache().get(tenant_id, lambda: stores().tenants.get(tenant_id))
    if tenant is None:
        raise NotFound("This API key's tenant no longer exists.", code="tenant_not_found")
    return tenant  # type: ignore[no-any-return]


def load_bot(tenant_id: str, bot_id: str) -> Bot:
    bot = _bot_cache().get((tenant_id, bot_id), lambda: stores().bots.get(tenant_id, bot_id))
    if bot is None:
        raise NotFound(f"No bot '{bot_id}'.", param="bot", code="bot_not_found")
    return bot  # type: ignore[no-any-return]


def run_turn(request: TurnRequest) -> TurnResult:
    """Answer one turn. Nothing is stored or billed unless the whole turn succeeds."""
    tenant = load_tenant(request.tenant_id)
    limits.ensure_active(tenant)
    bot = load_bot(tenant.id, request.bot_id) if request.bot_id else None
    deadline = providers.Deadline(
        request.deadline_seconds or (bot.deadline_seconds if bot else None) or get_settings().webhook_deadline_seconds
    )
    if bot and bot.redact_pii:  # before anything is stored or sent anywhere
        request.new_messages = [_redacted(m) for m in request.new_messages]
        if request.client_history is not None:
            request.client_history = [_redacted(m) for m in request.client_history]

    if bot and (shortcut := _shortcut(bot, request)):
        return _finish_local(tenant, bot, request, History([], 0), shortcut)

    history = History([], 0)
    if request.conversation_id and request.use_history and request.client_history is None and bot:
        history = stores().conversations.recent(tenant.id, bot.id, request.conversation_id)
    past = request.client_history if request.client_history is not None else history.unsummarized()
    if not request.use_history:
        past = []
    messages, trimmed = _prompt(bot, request, past, history.summary)

    verdicts: list[moderation.GateDecision] = []
    if bot and bot.moderation.mode in ("input", "both") and request.text:
        verdict = moderation.gate(tenant.id, request.text, bot.moderation, "input", deadline)
        verdicts.append(verdict)
        if verdict.blocked:
            return _finish_flagged_input(tenant, bot, request, history, verdict)

    return _answer_with_model(tenant, bot, request, history, messages, trimmed, verdicts, deadline)


def _answer_with_model(
    tenant: Tenant,
    bot: Bot | None,
    request: TurnRequest,
    history: History,
    messages: list[dict[str, Any]],
    trimmed: list[dict[str, Any]],
    verdicts: list[moderation.GateDecision],
    deadline: providers.Deadline,
) -> TurnResult:
    """Reserve the worst case, call the provider chain, guard the reply, store and settle in one transaction."""
    model = request.model or (bot.model if bot else None)
    if not model:
        raise InvalidRequest("Name a model or a bot ('bot:<id>').", param="model")
    params = provider_params(bot, request.params, messages)
    price = limits.price_for(tenant, model)
    prompt_tokens, n = _prompt_tokens_upper_bound(messages), params.get("n") or 1
    estimate = (
        worst_case_micros(price, prompt_tokens=prompt_tokens, max_output_tokens=params["max_tokens"], n=n)
        if price
        else 0
    )
    try:
        reservation = limits.reserve(
            tenant,
            request.request_id,
            estimate,
            tokens=prompt_tokens + n * params["max_tokens"],
            bot_id=request.bot_id,
            model=model,
        )
    except AtendeError:
        limits.emit_turn_metrics(tenant, request.bot_id, model, refused=True)
        raise
    try:
        result = providers.chat_completion(tenant.id, targets(bot, model), params, deadline)
    except AtendeError as error:
        limits.release(reservation)
        if bot and request.handoff_on_failure and bot.handoff.on_upstream_failure and error.status >= 429:
            logger.warning("upstream failed, handing off", extra={"error_code": error.code, "status": error.status})
            return _finish_local(
                tenant, bot, request, history, _handoff_answer(bot, Handoff("upstream_error", error.code))
            )
        raise

    body = result.body
    usage = limits.Usage.from_openai(body.get("usage"))
    # The model that answered may be a fallback's: price what was used (never refuse after the spend).
    cost = limits.turn_cost(limits.price_for(tenant, result.model, strict=False) or price, usage)
    turn = TurnResult(
        request.request_id,
        request.conversation_id,
        str(body.get("model") or result.model),
        list(body.get("choices") or []),
        dict(body.get("usage") or {}),
        messages,
        request.client_history if request.client_history is not None else history.messages,
        raw=body,
        cost_micros=cost,
        moderation=[v.record() for v in verdicts],
    )
    if bot:
        _guard_output(tenant, bot, turn, deadline)
    operations = limits.settlement_operations(reservation, cost, usage, bot_id=request.bot_id or "-", model=turn.model)
    try:
        _persist(tenant, bot, request, history, turn, operations)
    except Exception:
        limits.release(reservation)  # nothing was stored or billed: give the held budget back
        raise
    if bot and bot.history.summarize and trimmed and request.conversation_id and request.client_history is None:
        summaries.fold(tenant, bot, request.conversation_id, history, trimmed, deadline)
    limits.emit_turn_metrics(
        tenant,
        request.bot_id or "-",
        turn.model,
        cost,
        usage,
        reservation=reservation,
        upstream_seconds=result.upstream_seconds,
    )
    return turn


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict) and p.get("type") == "text")
    return ""


def _redacted(message: dict[str, Any]) -> dict[str, Any]:
    content = message.get("content")
    if isinstance(content, str):
        return {**message, "content": redact(content).text}
    if isinstance(content, list):
        parts = [{**p, "text": redact(p["text"]).text} if p.get("type") == "text" else p for p in content]
        return {**message, "content": parts}
    return message


def _shortcut(bot: Bot, request: TurnRequest) -> TurnResult | None:
    """Answers that need no model: a switched-off bot, a handoff keyword, a confident FAQ match."""
    if not bot.enabled:
        return _handoff_answer(bot, Handoff("bot_disabled"))
    text = request.text
    if not text:
        return None
    if handoff := keyword_handoff(text, bot.handoff):
        return _handoff_answer(bot, handoff)
    if entry := instant_answer(text, bot.instant_answers):
        return _local_result(entry.answer, source="instant_answer")
    return None


def _handoff_answer(bot: Bot, handoff: Handoff) -> TurnResult:
    result = _local_result(bot.handoff.message, source="handoff")
    result.handoff = handoff
    return result


def _local_result(content: str, *, source: Literal["instant_answer", "handoff", "moderation"]) -> TurnResult:
    choice = {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
    usage = {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
    return TurnResult("", None, f"atende-{source.replace('_', '-')}", [choice], usage, source=source)


def _prompt(
    bot: Bot | None, request: TurnRequest, past: list[dict[str, Any]], summary: str | None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The messages to send and the history trimmed to fit the bot's budget."""
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
    plan = build_messages(
        system=system,
        history=past,
        tail=request.new_messages,
        token_budget=bot.history.max_history_tokens
        + _prompt_tokens([{"role": "system", "content": system}, *request.new_messages]),
    )
    return plan.messages, plan.trimmed


def _prompt_tokens(messages: list[dict[str, Any]]) -> int:
    return count_message_tokens(messages)


def _prompt_tokens_upper_bound(messages: list[dict[str, Any]]) -> int:
    """Our count plus a margin: providers count a few tokens more (names, tool schemas), and the reservation
    must never undercount, or settling the real usage could pass a hard limit."""
    tools = sum(count_tokens(json.dumps(m.get("tool_calls") or "")) for m in messages)
    return math.ceil(_prompt_tokens(messages) * 1.05) + tools + 64


def _guard_output(tenant: Tenant, bot: Bot, turn: TurnResult, deadline: providers.Deadline) -> None:
    """Model-requested handoffs, then output moderation: a flagged reply never leaves."""
    for choice in turn.choices:
        message = choice.get("message") or {}
        if handoff := reply_handoff(message, bot.handoff):
            turn.handoff = turn.handoff or handoff
            choice["message"] = {"role": "assistant", "content": bot.handoff.message}
            choice["finish_reason"] = "stop"
    if bot.moderation.mode not in ("output", "both"):
        return
    for choice in turn.choices:
        text = _text_of((choice.get("message") or {}).get("content"))
        if not text:
            continue
        verdict = moderation.gate(tenant.id, text, bot.moderation, "output", deadline)
        turn.moderation.append(verdict.record())
        if verdict.blocked:
            turn.flagged = True
            choice["message"] = {"role": "assistant", "content": bot.moderation.refusal_message}
            choice["finish_reason"] = "content_filter"


def _finish_flagged_input(
    tenant: Tenant, bot: Bot, request: TurnRequest, history: History, verdict: moderation.GateDecision
) -> TurnResult:
    """A refused input never reaches the model; the stored turn keeps the decision, not the text."""
    if bot.moderation.on_flagged_input == "handoff":
        result = _handoff_answer(bot, Handoff("moderation", ",".join(verdict.categories) or verdict.error))
    else:
        result = _local_result(bot.moderation.refusal_message, source="moderation")
    result.flagged = verdict.flagged
    result.moderation = [verdict.record()]
    request.new_messages = [{"role": "user", "content": "[withheld: flagged by moderation]"}]
    return _finish_local(tenant, bot, request, history, result)


def _finish_local(tenant: Tenant, bot: Bot, request: TurnRequest, history: History, result: TurnResult) -> TurnResult:
    result.request_id, result.conversation_id = request.request_id, request.conversation_id
    result.past_messages = request.client_history if request.client_history is not None else history.messages
    _persist(tenant, bot, request, history, result, [])
    limits.emit_turn_metrics(tenant, bot.id, result.model, 0, limits.Usage(), upstream_seconds=0.0)
    return result


def _persist(
    tenant: Tenant,
    bot: Bot | None,
    request: TurnRequest,
    history: History,
    turn: TurnResult,
    operations: list[dict[str, Any]],
) -> None:
    """The turn's messages and its billing in one transaction; without a conversation, billing alone."""
    store = stores().conversations
    if bot and request.conversation_id:
        reply = {
            k: v
            for k, v in (turn.choices[0]["message"] if turn.choices else {}).items()
            if k in ("role", "content", "tool_calls") and v is not None
        }
        store.append(
            tenant.id,
            bot.id,
            request.conversation_id,
            [*request.new_messages, reply],
            after_seq=history.last_seq,
            retention_days=tenant.retention_days,
            request_id=request.request_id,
            extra_operations=operations,
        )
    elif operations:
        store.transact(operations)
