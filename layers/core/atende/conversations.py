"""Reading and erasing a stored conversation (the right to erasure), scoped to the caller's tenant."""

from __future__ import annotations

from typing import Any

from atende.auth import Caller
from atende.errors import NotFound
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
