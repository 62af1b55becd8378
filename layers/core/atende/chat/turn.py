"""One chat turn, end to end: bot, shortcuts, history, prompt, guards, budget, provider, storage, metrics."""

from __future__ import annotations

import time
from typing import Any

from atende.billing import budget
from atende.billing.policy import ensure_active
from atende.chat import summaries
from atende.chat.handoff import Handoff
from atende.chat.params import provider_params, targets
from atende.chat.prompt import turn_prompt
from atende.chat.shortcuts import flagged_input_answer, guard_output, handoff_answer, shortcut
from atende.chat.turn_inputs import TurnInputs, gather, seen_bot
from atende.chat.turns import TurnRequest, TurnResult
from atende.guards import moderation
from atende.guards.redaction import redact
from atende.models.bots import Bot
from atende.models.content import text_of
from atende.models.tenants import Tenant
from atende.platform import aws
from atende.platform.deadline import bounded
from atende.platform.errors import AtendeError, InvalidRequest, UpstreamError
from atende.platform.observability import logger
from atende.platform.settings import get_settings
from atende.providers import upstream
from atende.store import stores
from atende.store.conversations import History

__all__ = ["TurnRequest", "TurnResult", "cached_bot", "run_turn", "text_of", "turn_deadline"]


def cached_bot(tenant_id: str, bot_id: str) -> Bot | None:
    """The bot as this container last read it, without calling AWS (what a turn falls back on)."""
    return seen_bot(tenant_id, bot_id)


def turn_deadline(request: TurnRequest) -> upstream.Deadline:
    """The request's own deadline, else its bot's as this container last read it, else the default, counted
    from the request's start: what bounds the calls a request makes around its turn (its idempotency record)."""
    seen = cached_bot(request.tenant_id, request.bot_id) if request.bot_id else None
    seconds = request.deadline_seconds or (seen.deadline_seconds if seen else None)
    return upstream.Deadline(seconds or get_settings().webhook_deadline_seconds, started=request.started)


def run_turn(request: TurnRequest) -> TurnResult:
    """Answer one turn. Its messages and its billing are stored together, in one transaction.

    Its deadline (default, then the bot's) counts from the request's start and bounds every AWS call in it."""
    seconds = request.deadline_seconds or get_settings().webhook_deadline_seconds
    with bounded(upstream.Deadline(seconds, started=request.started)) as deadline:
        return _run_turn(request, deadline)


def _run_turn(request: TurnRequest, deadline: upstream.Deadline) -> TurnResult:
    seen = cached_bot(request.tenant_id, request.bot_id) if request.bot_id else None
    _reset_deadline(request, seen, deadline)  # the reads already run inside the bot's own deadline
    inputs = gather(request)  # one round trip: tenant, bot, history and the budget hold together
    try:
        return _run_gathered(request, inputs, deadline)
    finally:
        if inputs.speculation is not None:
            inputs.speculation.give_back()  # not adopted by the turn's hold: it ended without a provider call


def _run_gathered(request: TurnRequest, inputs: TurnInputs, deadline: upstream.Deadline) -> TurnResult:
    tenant, bot, history = inputs.tenant, inputs.bot, inputs.history
    request.loaded_tenant, request.loaded_bot = tenant, bot
    ensure_active(tenant)
    _reset_deadline(request, bot, deadline)
    if bot and bot.redact_pii:  # before anything is stored or sent anywhere
        _redact_request(request)
    if bot and (answer := shortcut(bot, request)):
        return _finish_local(tenant, bot, request, None, answer)

    past = request.client_history if request.client_history is not None else history.unsummarized() if history else []
    summary = history.summary if history else None
    messages, trimmed = turn_prompt(bot, request, past if request.use_history else [], summary)

    verdicts: list[moderation.GateDecision] = []
    if bot and bot.moderation.mode in ("input", "both") and request.text:
        verdict = moderation.gate(tenant.id, request.text, bot.moderation, "input", deadline)
        verdicts.append(verdict)
        if verdict.blocked:  # a refused input never reaches the model; the stored turn keeps the decision only
            request.new_messages = [{"role": "user", "content": "[withheld: flagged by moderation]"}]
            return _finish_local(tenant, bot, request, history, flagged_input_answer(bot, verdict))
    return _answer_with_model(tenant, bot, request, history, messages, trimmed, verdicts, deadline, inputs.speculation)


def _reset_deadline(request: TurnRequest, bot: Bot | None, deadline: upstream.Deadline) -> None:
    """The request's own deadline, else the bot's, else the default, counted from the request's start."""
    deadline.reset(
        request.deadline_seconds or (bot.deadline_seconds if bot else None) or get_settings().webhook_deadline_seconds
    )


def _answer_with_model(
    tenant: Tenant,
    bot: Bot | None,
    request: TurnRequest,
    history: History | None,
    messages: list[dict[str, Any]],
    trimmed: list[dict[str, Any]],
    verdicts: list[moderation.GateDecision],
    deadline: upstream.Deadline,
    speculation: budget.Speculation | None,
) -> TurnResult:
    """Reserve the worst case, call the provider chain, guard the reply, store and settle in one transaction."""
    model = request.model or (bot.model if bot else None)
    if not model:
        raise InvalidRequest("Name a model or a bot ('bot:<id>').", param="model")
    chain = targets(bot, model)
    params = provider_params(bot, request.params, messages, model)
    # Every target of the chain is priced (a budgeted tenant cannot fall back to an unpriced model), and the
    # hold covers the most expensive one: a fallback must not spend past what was held.
    models = [target.model for target in chain]
    entered, holding = False, None
    try:
        with budget.hold(
            tenant,
            request.request_id,
            models=models,
            params=params,
            bot_id=request.bot_id,
            model=model,
            speculated=speculation,
        ) as held:
            entered, holding = True, held
            try:
                result = upstream.chat_completion(tenant.id, chain, params, deadline)
                choices, usage_body = _completion_parts(result.body)
            except AtendeError as error:
                if bot and request.handoff_on_failure and bot.handoff.on_upstream_failure and error.status >= 429:
                    logger.warning(
                        "upstream failed, handing off", extra={"error_code": error.code, "status": error.status}
                    )
                    failure = handoff_answer(bot, Handoff("upstream_error", error.code))
                    return _finish_local(tenant, bot, request, history, failure)
                raise
            cost = held.charge(result.model, usage_body)
            turn = TurnResult(
                request.request_id,
                request.conversation_id,
                str(result.body.get("model") or result.model),
                choices,
                usage_body,
                messages,
                _past(request, history),
                list(request.new_messages),
                raw=result.body,
                cost_micros=cost,
                max_tokens=params["max_tokens"],
                moderation=[v.record() for v in verdicts],
                anomaly=held.anomaly,
            )
            if bot:
                guard_output(tenant.id, bot, turn, deadline)
            held.timings(
                upstream_seconds=result.upstream_seconds,
                overhead_seconds=max(0.0, time.monotonic() - request.started - result.upstream_seconds),
            )
            try:
                if _persist(tenant, bot, request, history, turn, held.settlement_operations(model=turn.model)):
                    held.settled()
                else:  # no conversation: the call is billed on its own, before it is answered
                    held.settle_now()
            except Exception as error:
                # A "not now" failure may hide a transaction that landed, its answer lost: read it back before
                # calling it a failure (the turn is then stored and billed, and is answered as such).
                unavailable = aws.unavailable(error)
                if not (unavailable and held.landed_after_all()):
                    raise (unavailable or error) from error
            request.paid_micros = cost
    except AtendeError as error:
        if holding is not None and holding.billed and holding.cost:
            # Storage failed after the provider answered, and the call was billed on its own: say what it cost.
            request.paid_micros = holding.cost
            error.headers = {**error.headers, "x-atende-cost-micros": str(holding.cost)}
        elif holding is not None and holding.unresolved:
            # Neither the turn's write nor the call's own settlement answered in time, and either may still land
            # (DynamoDB can apply a write after its caller gave up): the answer cannot say what it cost, so it
            # says that. The reservation's record settles it either way; the sweep releases it if nothing landed.
            request.billing_unresolved = True
            error.headers = {**error.headers, "x-atende-billing": "unresolved"}
        # The budget counters stayed busy (a 503 before anything was spent): a webhook hands off, as it does when
        # the provider fails. A refusal (429) stays one, and an error from inside the hold is not this case.
        if entered or not (
            bot and request.handoff_on_failure and bot.handoff.on_upstream_failure and error.status >= 500
        ):
            raise
        logger.warning("budget counters busy, handing off", extra={"error_code": error.code, "status": error.status})
        return _finish_local(tenant, bot, request, history, handoff_answer(bot, Handoff("upstream_error", error.code)))
    if bot and history and bot.history.summarize and trimmed and request.conversation_id:
        summaries.fold(tenant, bot, request.conversation_id, history, trimmed, deadline)
    return turn


def _completion_parts(body: Any) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The choices and usage of a provider answer, or a 502 when the answer is not a chat completion."""
    choices = body.get("choices") if isinstance(body, dict) else None
    if not isinstance(choices, list) or not choices or not all(isinstance(c, dict) for c in choices):
        raise UpstreamError(
            "The provider's answer is not a chat completion (no choices).", code="provider_bad_response"
        )
    usage = body.get("usage")
    return choices, usage if isinstance(usage, dict) else {}


def _redact_request(request: TurnRequest) -> None:
    request.new_messages = [_redacted(m) for m in request.new_messages]
    if request.client_history is not None:
        request.client_history = [_redacted(m) for m in request.client_history]
    if request.extra_system:
        request.extra_system = redact(request.extra_system).text


def _redacted(message: dict[str, Any]) -> dict[str, Any]:
    content = message.get("content")
    if isinstance(content, str):
        return {**message, "content": redact(content).text}
    if isinstance(content, list):
        parts = [{**p, "text": redact(p["text"]).text} if p.get("type") == "text" else p for p in content]
        return {**message, "content": parts}
    return message


def _past(request: TurnRequest, history: History | None) -> list[dict[str, Any]]:
    if request.client_history is not None:
        return request.client_history
    return history.messages if history else []


def _finish_local(
    tenant: Tenant, bot: Bot, request: TurnRequest, history: History | None, result: TurnResult
) -> TurnResult:
    """Store and count a turn Atende answered itself (zero cost)."""
    result.request_id, result.conversation_id = request.request_id, request.conversation_id
    result.past_messages, result.new_messages = _past(request, history), list(request.new_messages)
    _persist(tenant, bot, request, history, result, [])
    budget.record_unbilled_turn(tenant, bot_id=bot.id, model=result.model, refused=result.source == "moderation")
    return result


def _persist(
    tenant: Tenant,
    bot: Bot | None,
    request: TurnRequest,
    history: History | None,
    turn: TurnResult,
    operations: list[dict[str, Any]],
) -> bool:
    """The turn's messages and its billing in one transaction; False when there is no conversation to store."""
    store = stores().conversations
    if not (bot and request.conversation_id):
        return False
    reply = {
        k: v for k, v in turn.choices[0]["message"].items() if k in ("role", "content", "tool_calls") and v is not None
    }
    store.append(
        tenant.id,
        bot.id,
        request.conversation_id,
        [*request.new_messages, reply],
        after_seq=history.last_seq if history else None,  # None: the store reads the tail itself
        retention_days=tenant.retention_days,
        request_id=request.request_id,
        turn_record=turn.record(),
        extra_operations=operations,
    )
    return True
