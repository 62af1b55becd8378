"""Webhook turns the model cannot answer: storage failed, a limit refused, the tenant is suspended; a handoff then.

Also the soft-limit state a webhook answer carries, read after the turn so that it counts the turn's spend.
"""

from __future__ import annotations

import time

from atende.billing.policy import tenant_limits
from atende.billing.soft_limit import soft_limit_state
from atende.chat.handoff import Handoff
from atende.chat.shortcuts import handoff_answer, local_result
from atende.chat.texts import limit_text
from atende.chat.turn import cached_bot, run_turn
from atende.chat.turns import TurnRequest, TurnResult
from atende.models.bots import Bot
from atende.models.limits import SoftLimitState
from atende.platform import aws
from atende.platform.deadline import Deadline, bounded
from atende.platform.errors import AtendeError, LimitExceeded, TenantSuspended
from atende.platform.observability import logger
from atende.platform.settings import get_settings
from atende.store import stores

SOFT_LIMIT_READ_SECONDS = 1.0  # the answer is ready: a slow read leaves `soft_limit` null rather than wait
MIN_SOFT_LIMIT_READ_SECONDS = 0.2


def run_turn_or_handoff(request: TurnRequest) -> TurnResult:
    """`run_turn`, or the bot's handoff when AWS failed it with "not now" (the bot the turn loaded, else the
    container's cached one: storage is what failed), or when a limit or a suspension refused it and the bot's
    `handoff.on_limit_refusal` is `handoff`. Neither is stored: the conversation keeps what landed. Other
    failures are raised."""
    try:
        return run_turn(request)
    except (LimitExceeded, TenantSuspended) as refusal:
        bot = _bot_for_refusal(request)
        if bot is None or not request.handoff_on_failure or bot.handoff.on_limit_refusal != "handoff":
            raise
        return _limit_handoff(request, bot, refusal)
    except Exception as error:
        handed_off = storage_handoff(request, error)
        if handed_off is None:
            raise
        return handed_off


def storage_handoff(request: TurnRequest, error: BaseException) -> TurnResult | None:
    """The bot's handoff for a turn that AWS failed with "not now" (`error`), or None when that is not what
    failed it, or the bot hands nothing off. The bot is the one the turn loaded, else the container's cached one
    (storage is what failed); the handoff is not stored: the conversation keeps what landed."""
    mapped = aws.unavailable(error)
    bot = request.loaded_bot or (cached_bot(request.tenant_id, request.bot_id) if request.bot_id else None)
    if mapped is None or bot is None or not request.handoff_on_failure or not bot.handoff.on_upstream_failure:
        return None
    logger.warning("storage failed the turn, handing off", extra={"error_code": mapped.code})
    result = handoff_answer(bot, Handoff("store_unavailable", mapped.code))
    result.request_id, result.conversation_id = request.request_id, request.conversation_id
    result.new_messages = list(request.new_messages)
    result.cost_micros = request.paid_micros  # a call paid before storage failed is billed: say so
    result.billing_unresolved = request.billing_unresolved
    return result


def _bot_for_refusal(request: TurnRequest) -> Bot | None:
    """The turn's bot; a suspension is refused before the bot is loaded, so it is loaded (or found cached) here."""
    if request.loaded_bot is not None or request.bot_id is None:
        return request.loaded_bot  # type: ignore[no-any-return]
    try:
        return cached_bot(request.tenant_id, request.bot_id) or stores().bots.get(request.tenant_id, request.bot_id)
    except Exception:  # noqa: BLE001 — no such bot, or it cannot be read now: the refusal itself is the answer
        return None


def _limit_handoff(request: TurnRequest, bot: Bot, refusal: AtendeError) -> TurnResult:
    reason = "tenant_suspended" if isinstance(refusal, TenantSuspended) else "budget_exhausted"
    logger.info("a limit refused the turn, handing off", extra={"error_code": refusal.code})
    result = local_result(limit_text(bot), source="handoff")
    result.handoff = Handoff(reason, refusal.code)
    result.request_id, result.conversation_id = request.request_id, request.conversation_id
    result.new_messages = list(request.new_messages)
    return result


def webhook_soft_limit(request: TurnRequest) -> SoftLimitState | None:
    """The tenant's soft-limit state after the turn, or None: without a soft limit (no call at all: the turn
    read the tenant already), or when the counters cannot be read within what is left of the turn's deadline
    (at most SOFT_LIMIT_READ_SECONDS): the answer is ready, and the soft limit is a report."""
    tenant = request.loaded_tenant
    if tenant is None:  # storage failed the turn before it read the tenant: no second try now
        return None
    limits = tenant_limits(tenant).effective
    if limits.soft_limit_percent is None or not limits.has_budget:
        return None
    seconds = request.deadline_seconds or get_settings().webhook_deadline_seconds
    left = min(SOFT_LIMIT_READ_SECONDS, seconds - (time.monotonic() - request.started))
    if left < MIN_SOFT_LIMIT_READ_SECONDS:
        return None
    try:
        with bounded(Deadline(left)):
            return soft_limit_state(request.tenant_id, limits)
    except Exception:  # noqa: BLE001 — the turn is answered; the soft limit is a report
        logger.warning("could not read the soft limit", exc_info=True)
        return None
