"""Bots: stored as one JSON document per item, versioned for optimistic locking."""

from __future__ import annotations

import json
from typing import Any

from boto3.dynamodb.conditions import Key

from atende.models.bots import Bot
from atende.platform.errors import Conflict, NotFound
from atende.store.table import AuditEntry, TableStore, tenant_pk

# DynamoDB refuses items over 400 KB; the rest of the item (keys, version, names) fits in what this leaves.
MAX_CONFIG_BYTES = 350 * 1024


def bot_key(tenant_id: str, bot_id: str) -> dict[str, str]:
    return {"PK": tenant_pk(tenant_id), "SK": f"BOT#{bot_id}"}


class BotStore(TableStore):
    """The settings live in one JSON string attribute: no float/Decimal juggling, one read gets it all."""

    def get(self, tenant_id: str, bot_id: str, *, consistent: bool = False) -> Bot | None:
        item = self.table.get_item(Key=bot_key(tenant_id, bot_id), ConsistentRead=consistent).get("Item")
        return _bot(item) if item else None

    def list(self, tenant_id: str) -> list[Bot]:
        items = self.query_all(
            KeyConditionExpression=Key("PK").eq(tenant_pk(tenant_id)) & Key("SK").begins_with("BOT#")
        )
        return [_bot(item) for item in items]

    def create(self, tenant_id: str, bot: Bot, audit: AuditEntry) -> Bot:
        conflict = Conflict(f"Bot '{bot.id}' already exists.", param="id", code="bot_exists")
        return self._put(tenant_id, bot, audit, conflict, "attribute_not_exists(PK)")

    def replace(self, tenant_id: str, bot: Bot, expected_version: int, audit: AuditEntry) -> Bot:
        """Write `bot` only if the stored version is still `expected_version` (bot.version is the new one)."""
        conflict = Conflict(
            f"Bot '{bot.id}' was changed by someone else (you sent version {expected_version}). "
            "Read it again and reapply your change.",
            param="version",
            code="version_conflict",
        )
        return self._put(tenant_id, bot, audit, conflict, "version = :expected", {":expected": expected_version})

    def _put(
        self,
        tenant_id: str,
        bot: Bot,
        audit: AuditEntry,
        conflict: Conflict,
        condition: str,
        values: dict[str, Any] | None = None,
    ) -> Bot:
        put: dict[str, Any] = {"TableName": self.name, "Item": _item(tenant_id, bot), "ConditionExpression": condition}
        if values:
            put["ExpressionAttributeValues"] = values
        self.transact([{"Put": put}], audit, on_condition_failed=conflict)
        return bot

    def delete(self, tenant_id: str, bot_id: str, audit: AuditEntry) -> None:
        delete = {
            "Delete": {
                "TableName": self.name,
                "Key": bot_key(tenant_id, bot_id),
                "ConditionExpression": "attribute_exists(PK)",
            }
        }
        self.transact([delete], audit, on_condition_failed=NotFound(f"No bot '{bot_id}'.", param="bot"))


def config_document(bot: Bot) -> str:
    """The JSON stored in the item's `config` attribute (UTF-8 bytes are what count against the item limit)."""
    return bot.model_dump_json(exclude={"version"})


def _item(tenant_id: str, bot: Bot) -> dict[str, Any]:
    return {
        **bot_key(tenant_id, bot.id),
        "type": "bot",
        "version": bot.version,
        "config": config_document(bot),
    }


def _bot(item: dict[str, Any]) -> Bot:
    return Bot.model_validate({**json.loads(item["config"]), "version": int(item["version"])})
