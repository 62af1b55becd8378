"""Reading what a chat key may read: stored conversations (and erasing them), and the bots as models."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from atende.access.keys import Caller
from atende.platform.errors import NotFound
from atende.store import stores
from atende.store.table import AuditEntry


def read_conversation(tenant_id: str, bot_id: str, conversation_id: str, *, limit: int) -> dict[str, Any]:
    messages = stores().conversations.all_messages(tenant_id, bot_id, conversation_id)
    if not messages:
        raise NotFound(f"No conversation '{conversation_id}' for bot '{bot_id}'.", param="conversation")
    return {
        "object": "conversation",
        "id": conversation_id,
        "bot": bot_id,
        "messages": messages[-limit:],
        "count": len(messages),
    }


def delete_conversation(caller: Caller, bot_id: str, conversation_id: str) -> dict[str, Any]:
    removed = stores().conversations.delete(caller.tenant_id, bot_id, conversation_id)
    if not removed:
        raise NotFound(f"No conversation '{conversation_id}' for bot '{bot_id}'.", param="conversation")
    stores().audit.transact(
        [],
        AuditEntry(
            caller.tenant_id,
            caller.key_prefix,
            "conversation.delete",
            f"bot/{bot_id}/conversation/{conversation_id}",
            ["messages"],
        ),
    )
    return {"id": conversation_id, "deleted": True, "items_removed": removed}


def bot_models(tenant_id: str) -> list[dict[str, Any]]:
    return [_as_model(tenant_id, bot.id, bot.created_at) for bot in stores().bots.list(tenant_id)]


def bot_model(tenant_id: str, model: str) -> dict[str, Any]:
    bot = stores().bots.get(tenant_id, model.removeprefix("bot:")) if model.startswith("bot:") else None
    if bot is None:
        raise NotFound(
            f"No model '{model}': this tenant's models are its bots, 'bot:<id>'.", param="model", code="model_not_found"
        )
    return _as_model(tenant_id, bot.id, bot.created_at)


def _as_model(tenant_id: str, bot_id: str, created_at: str) -> dict[str, Any]:
    created = int(datetime.fromisoformat(created_at.replace("Z", "+00:00")).timestamp())
    return {"id": f"bot:{bot_id}", "object": "model", "created": created, "owned_by": tenant_id}
