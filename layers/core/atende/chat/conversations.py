"""Reading what a chat key may read: stored conversations (and erasing them), and the bots as models."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

from atende.access.keys import Caller
from atende.platform.errors import AtendeError, InvalidRequest, NotFound
from atende.store import stores
from atende.store.table import AuditEntry
from atende.web.sizes import ANSWER_BUDGET_BYTES, wire_bytes


def read_conversation(
    tenant_id: str, bot_id: str, conversation_id: str, *, limit: int, cursor: str | None = None
) -> dict[str, Any]:
    """One page of a stored conversation, oldest first: at most `limit` messages and the answer budget's bytes.

    `next_cursor` continues after the last message of this page; `has_more` says whether there is one.
    """
    after = _decode_cursor(cursor) if cursor else 0
    answer: dict[str, Any] = {
        "object": "conversation",
        "id": conversation_id,
        "bot": bot_id,
        "messages": [],
        "count": 0,
        "has_more": False,
        "next_cursor": _encode_cursor(10**10),  # the longest cursor: the size counted below is an upper bound
    }
    used = wire_bytes(answer)
    messages: list[dict[str, Any]] = answer["messages"]
    stored = stores().conversations.messages_after(
        tenant_id, bot_id, conversation_id, after_seq=after, page_size=min(limit + 1, 1000)
    )
    for message in stored:
        size = wire_bytes(message) + 1  # and its comma
        if len(messages) >= limit or (messages and used + size > ANSWER_BUDGET_BYTES):
            answer["has_more"] = True
            break
        if used + size > ANSWER_BUDGET_BYTES:  # a single message over the budget cannot happen: items are smaller
            raise AtendeError("A stored message is larger than an answer can carry.")
        messages.append(message)
        used += size
    if not messages and not cursor:
        raise NotFound(f"No conversation '{conversation_id}' for bot '{bot_id}'.", param="conversation")
    answer["count"] = len(messages)
    answer["next_cursor"] = _encode_cursor(messages[-1]["seq"]) if answer["has_more"] else None
    return answer


def _encode_cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(f"seq:{seq}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        seq = int(text.removeprefix("seq:")) if text.startswith("seq:") else -1
    except ValueError:
        seq = -1
    if seq < 0:
        raise InvalidRequest("cursor: not a cursor this endpoint gave (use next_cursor as is).", param="cursor")
    return seq


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
