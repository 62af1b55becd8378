"""Running conversation summaries: history trimmed from the prompt is folded into one kept with the conversation."""

from __future__ import annotations

import uuid
from typing import Any

from atende.billing import budget
from atende.billing.pricing import ModelPrice
from atende.chat.params import reservation_estimate
from atende.chat.prompt import SUMMARY_INSTRUCTION, history_for_summary
from atende.models.bots import Bot
from atende.models.tenants import Tenant
from atende.platform.errors import AtendeError
from atende.platform.observability import logger
from atende.providers import upstream
from atende.store import stores
from atende.store.conversations import History

SUMMARY_MAX_TOKENS = 400


def fold(
    tenant: Tenant,
    bot: Bot,
    conversation_id: str,
    history: History,
    trimmed: list[dict[str, Any]],
    deadline: upstream.Deadline,
) -> None:
    """Summarize the previous summary plus the trimmed turns; never fails the turn that triggered it.

    The call is budgeted like a turn: its worst case is reserved first (no summary when a limit refuses it;
    the trimmed turns wait for a later one), its real cost settled after, the reservation released on failure.
    """
    seqs = history.seqs_of(trimmed)
    if not seqs or deadline.remaining() < upstream.MIN_ATTEMPT_SECONDS:
        return
    previous = history.summary or "(none yet)"
    messages = [
        {"role": "system", "content": SUMMARY_INSTRUCTION},
        {
            "role": "user",
            "content": f"Previous summary:\n{previous}\n\nTurns to fold in:\n{history_for_summary(trimmed)}",
        },
    ]
    held = _reserve(tenant, bot, messages)
    if held is None:
        return
    reservation, price = held
    settled = False
    try:
        target = upstream.Target(bot.provider, bot.model)
        result = upstream.chat_completion(tenant.id, [target], _params(messages), deadline)
        usage = budget.Usage.from_openai(result.body.get("usage"))
        cost = budget.turn_cost(budget.price_for(tenant, result.model, strict=False) or price, usage)
        budget.settle(reservation, cost, usage, bot_id=bot.id, model=result.model)
        settled = True
        summary = str(result.body["choices"][0]["message"]["content"] or "").strip()
    except Exception:  # noqa: BLE001 — a summary is an optimisation: the turn already answered
        logger.exception("could not update the conversation summary")
        if not settled:
            _release(reservation)
        return
    if summary:
        stores().conversations.save_summary(
            tenant.id, bot.id, conversation_id, summary, through_seq=max(seqs), retention_days=tenant.retention_days
        )


def _reserve(
    tenant: Tenant, bot: Bot, messages: list[dict[str, Any]]
) -> tuple[budget.Reservation, ModelPrice | None] | None:
    """Hold the summary's worst case: its prompt with a turn's margin, SUMMARY_MAX_TOKENS out, the bot model's price.

    None when a limit refuses it (or the call cannot be priced): the summary is skipped, not the turn.
    """
    try:
        price = budget.price_for(tenant, bot.model)
        estimate, tokens = reservation_estimate(_params(messages), [price])
        reservation = budget.reserve(
            tenant,
            f"summary-{uuid.uuid4().hex}",
            estimate,
            tokens=tokens,
            bot_id=bot.id,
            model=bot.model,
            requests=0,
        )
    except AtendeError as refused:
        logger.info("conversation summary skipped", extra={"code": refused.code})
        return None
    except Exception:  # noqa: BLE001 — the store failing must not fail a turn that already answered
        logger.exception("could not reserve budget for the conversation summary")
        return None
    return reservation, price


def _params(messages: list[dict[str, Any]]) -> dict[str, Any]:
    return {"messages": messages, "max_tokens": SUMMARY_MAX_TOKENS, "temperature": 0}


def _release(reservation: budget.Reservation) -> None:
    try:
        budget.release(reservation)
    except Exception:  # noqa: BLE001 — an unreleased reservation expires and is swept
        logger.exception("could not release the summary's reservation")
