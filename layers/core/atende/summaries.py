"""Running conversation summaries: history trimmed from the prompt is folded into one kept with the conversation."""

from __future__ import annotations

from typing import Any

from atende import limits, providers
from atende.models.bots import Bot
from atende.models.tenants import Tenant
from atende.observability import logger
from atende.prompting import SUMMARY_INSTRUCTION, history_for_summary
from atende.store import stores
from atende.store.conversations import History

SUMMARY_MAX_TOKENS = 400


def fold(
    tenant: Tenant,
    bot: Bot,
    conversation_id: str,
    history: History,
    trimmed: list[dict[str, Any]],
    deadline: providers.Deadline,
) -> None:
    """Summarize the previous summary plus the trimmed turns; never fails the turn that triggered it."""
    seqs = history.seqs_of(trimmed)
    if not seqs or deadline.remaining() < providers.MIN_ATTEMPT_SECONDS:
        return
    previous = history.summary or "(none yet)"
    params = {
        "messages": [
            {"role": "system", "content": SUMMARY_INSTRUCTION},
            {
                "role": "user",
                "content": f"Previous summary:\n{previous}\n\nTurns to fold in:\n{history_for_summary(trimmed)}",
            },
        ],
        "max_tokens": SUMMARY_MAX_TOKENS,
        "temperature": 0,
    }
    try:
        result = providers.chat_completion(tenant.id, [providers.Target(bot.provider, bot.model)], params, deadline)
        summary = str(result.body["choices"][0]["message"]["content"] or "").strip()
        usage = limits.Usage.from_openai(result.body.get("usage"))
        cost = limits.turn_cost(limits.price_for(tenant, result.model), usage)
        limits.record_extra_spend(tenant, cost, usage, bot_id=bot.id, model=result.model)
    except Exception:  # noqa: BLE001 — a summary is an optimisation: the turn already answered
        logger.exception("could not update the conversation summary")
        return
    if summary:
        stores().conversations.save_summary(
            tenant.id, bot.id, conversation_id, summary, through_seq=max(seqs), retention_days=tenant.retention_days
        )
