"""Running conversation summaries: history trimmed from the prompt is folded into one kept with the conversation."""

from __future__ import annotations

import uuid
from typing import Any

from atende.billing import budget
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

    The call is budgeted like a turn, through `budget.hold`: no summary when a limit refuses it (the trimmed
    turns wait for a later one), its real cost settled after, the reservation released on failure.
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
    try:
        with budget.hold(
            tenant,
            f"summary-{uuid.uuid4().hex}",
            models=[bot.model],
            params=_params(messages),
            bot_id=bot.id,
            model=bot.model,
            requests=0,
        ) as held:
            target = upstream.Target(bot.provider, bot.model)
            result = upstream.chat_completion(tenant.id, [target], _params(messages), deadline)
            held.charge(result.model, result.body.get("usage"))  # settled on its own when the block ends
            summary = str(result.body["choices"][0]["message"]["content"] or "").strip()
    except AtendeError as refused:  # a limit refused it, or the provider failed: the trimmed turns wait
        logger.info("conversation summary skipped", extra={"code": refused.code})
        return
    except Exception:  # noqa: BLE001 — a summary is an optimisation: the turn already answered
        logger.exception("could not update the conversation summary")
        return
    if summary:
        stores().conversations.save_summary(
            tenant.id, bot.id, conversation_id, summary, through_seq=max(seqs), retention_days=tenant.retention_days
        )


def _params(messages: list[dict[str, Any]]) -> dict[str, Any]:
    return {"messages": messages, "max_tokens": SUMMARY_MAX_TOKENS, "temperature": 0}
