"""What a turn needs before the provider call, in one parallel round trip: tenant, bot, history and a budget hold.

The tenant and the bot are read on every turn (consistently: a bot switched off, or a tenant suspended, stops
the very next turn), beside the conversation's history and a speculative budget hold sized from what this
container last saw of the tenant and the bot. The calls go out together from a small thread pool, so the turn
waits for the slowest of them, not for their sum. A container's first turn of a bot has nothing to size a hold
from: it reserves after the reads (two round trips), as does a turn whose tenant's limits changed meanwhile.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from functools import cache
from typing import Any

from cachetools import TTLCache

from atende.billing import budget
from atende.billing.policy import tenant_limits
from atende.chat.params import provider_params, targets
from atende.chat.prompt import turn_prompt
from atende.chat.shortcuts import shortcut
from atende.chat.summaries import SUMMARY_MAX_TOKENS
from atende.chat.turns import TurnRequest
from atende.models.bots import Bot
from atende.models.tenants import Tenant
from atende.platform.errors import AtendeError, NotFound
from atende.store import stores
from atende.store.conversations import History

SEEN_SECONDS = 3600  # how long a container remembers a tenant or bot to size holds from (never served as fresh)
SUMMARY_FRAMING_TOKENS = 32  # the summary's section header around its text
# What this container last read, by tenant and by (tenant, bot): the basis of the next turn's speculative hold,
# and the bot a webhook hands off with when storage fails the turn (chat/degraded.py).
_seen_tenants: TTLCache[str, Tenant] = TTLCache(maxsize=1024, ttl=SEEN_SECONDS)
_seen_bots: TTLCache[tuple[str, str], Bot] = TTLCache(maxsize=1024, ttl=SEEN_SECONDS)


@cache
def _pool() -> ThreadPoolExecutor:
    """One pool per container: a turn issues at most four calls at once, and a container serves one turn."""
    return ThreadPoolExecutor(max_workers=4, thread_name_prefix="turn-read")


@dataclass
class TurnInputs:
    tenant: Tenant
    bot: Bot | None
    history: History | None
    speculation: budget.Speculation | None  # give_back() it on every exit that does not reach budget.hold


def seen_bot(tenant_id: str, bot_id: str) -> Bot | None:
    """The bot as this container last read it, without calling AWS (what a turn falls back on)."""
    return _seen_bots.get((tenant_id, bot_id))


def forget_seen() -> None:
    """Forget every tenant and bot this container saw (tests that change them under a warm container)."""
    _seen_tenants.clear()
    _seen_bots.clear()


def gather(request: TurnRequest) -> TurnInputs:
    """Read the tenant, the bot and the history, and hold the budget, all at once; raise what the reads raise.

    On a failure the speculative hold (if it landed) is given back before the first failure in reading order
    (tenant, bot, history, hold) is raised."""
    tenant_id, bot_id = request.tenant_id, request.bot_id
    wants_history = bool(bot_id and request.conversation_id and request.use_history and request.client_history is None)
    basis_tenant = _seen_tenants.get(tenant_id)
    basis_bot = _seen_bots.get((tenant_id, bot_id)) if bot_id else None
    hold = _speculation(request, basis_tenant, basis_bot, wants_history) if basis_tenant else None

    calls: dict[str, Callable[[], Any]] = {"tenant": lambda: stores().tenants.get(tenant_id, consistent=True)}
    if bot_id:
        calls["bot"] = lambda: stores().bots.get(tenant_id, bot_id, consistent=True)
    if wants_history and request.conversation_id and bot_id:
        conversation_id = request.conversation_id
        calls["history"] = lambda: stores().conversations.recent(tenant_id, bot_id, conversation_id)
    if hold is not None:
        calls["hold"] = hold
    pool = _pool()
    futures: dict[str, Future[Any]] = {
        name: pool.submit(contextvars.copy_context().run, call) for name, call in calls.items()
    }
    wait(futures.values())
    speculation = _result_or_none(futures.get("hold"))
    try:
        for future in futures.values():
            future.result()  # the first failure, in reading order
        tenant = futures["tenant"].result()
        if tenant is None:
            raise NotFound("This API key's tenant no longer exists.", code="tenant_not_found")
        _seen_tenants[tenant_id] = tenant
        bot = futures["bot"].result() if bot_id else None
        if bot_id and bot is None:
            raise NotFound(f"No bot '{bot_id}'.", param="bot", code="bot_not_found")
        if bot_id and bot is not None:
            _seen_bots[(tenant_id, bot_id)] = bot
        history = futures["history"].result() if "history" in futures else None
        if speculation is not None and basis_tenant is not None and not _same_limits(basis_tenant, tenant):
            speculation.give_back()  # sized against limits that changed since: the turn reserves again
    except BaseException:
        if speculation is not None:
            speculation.give_back()
        raise
    return TurnInputs(tenant, bot, history, speculation)


def _result_or_none(future: Future[Any] | None) -> Any:
    if future is None or future.exception() is not None:
        return None
    return future.result()


def _same_limits(seen: Tenant, fresh: Tenant) -> bool:
    """Whether the limits a hold was sized against still hold (a change to them moves the tenant's updated_at)."""
    if seen.updated_at == fresh.updated_at:
        return True
    before, now = tenant_limits(seen), tenant_limits(fresh)
    return before.effective == now.effective and before.prices == now.prices


def _speculation(
    request: TurnRequest, tenant: Tenant, bot: Bot | None, wants_history: bool
) -> Callable[[], budget.Speculation] | None:
    """The hold the turn will most likely need, from the tenant and bot last seen; None when the turn will most
    likely not call a model (a switched-off or suspended tenant or bot, a shortcut) or no bot was seen yet."""
    if not tenant.active or (request.bot_id and bot is None):
        return None
    if bot is not None and (not bot.enabled or bot.redact_pii or shortcut(bot, request) is not None):
        return None  # redaction changes the prompt the hold is sized from: the turn reserves after it
    model = request.model or (bot.model if bot else None)
    if not model:
        return None
    past = request.client_history if request.client_history is not None and request.use_history else []
    try:
        messages, _ = turn_prompt(bot, request, past, None)
        params = provider_params(bot, request.params, messages, model)
    except AtendeError:
        return None  # the turn itself answers what is wrong with the request
    extra = 0
    if bot is not None and wants_history:
        extra = bot.history.max_history_tokens
        if bot.history.summarize:
            extra += SUMMARY_MAX_TOKENS + SUMMARY_FRAMING_TOKENS
    models = [target.model for target in targets(bot, model)]
    return lambda: budget.speculate(
        tenant,
        request.request_id,
        models=models,
        params=params,
        extra_prompt_tokens=extra,
        bot_id=request.bot_id,
        model=model,
    )
