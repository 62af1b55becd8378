"""When storage fails a webhook turn (too slow for its deadline, throttled), the caller still gets a handoff."""

from __future__ import annotations

from atende.chat.handoff import Handoff
from atende.chat.shortcuts import handoff_answer
from atende.chat.turn import cached_bot, run_turn
from atende.chat.turns import TurnRequest, TurnResult
from atende.platform import aws
from atende.platform.observability import logger


def run_turn_or_handoff(request: TurnRequest) -> TurnResult:
    """`run_turn`, or, when AWS failed it with "not now", the bot's handoff (the bot the turn loaded, else the
    container's cached one: storage is what failed). Not stored: the conversation keeps what landed. Other
    failures are raised."""
    try:
        return run_turn(request)
    except Exception as error:
        mapped = aws.unavailable(error)
        bot = request.loaded_bot or (cached_bot(request.tenant_id, request.bot_id) if request.bot_id else None)
        bot = bot if mapped else None
        if mapped is None or bot is None or not request.handoff_on_failure or not bot.handoff.on_upstream_failure:
            raise
        logger.warning("storage failed the turn, handing off", extra={"error_code": mapped.code})
        result = handoff_answer(bot, Handoff("store_unavailable", mapped.code))
        result.request_id, result.conversation_id = request.request_id, request.conversation_id
        result.new_messages = list(request.new_messages)
        result.cost_micros = request.paid_micros  # a call paid before storage failed is billed: say so
        result.billing_unresolved = request.billing_unresolved
        return result
