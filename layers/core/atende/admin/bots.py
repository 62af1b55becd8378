"""Bot CRUD with tenant-bounded validation and optimistic locking (version in the body or If-Match)."""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

from atende.access.keys import Caller
from atende.admin.merge_patch import changed_paths, merge_patch
from atende.models.bots import Bot, BotCreate, BotPatch, BotReplace, BotSettings
from atende.models.common import utc_now
from atende.models.tenants import Tenant
from atende.platform.errors import (
    Conflict,
    InvalidRequest,
    NotFound,
    PayloadTooLarge,
    PreconditionFailed,
    PreconditionRequired,
)
from atende.store import stores
from atende.store.bots import MAX_CONFIG_BYTES, config_document
from atende.store.table import AuditEntry
from atende.web.http import describe_validation_errors

_READ_ONLY = {"id", "version", "created_at", "updated_at"}


def _check_against_tenant(settings: BotSettings, tenant: Tenant) -> None:
    limit = tenant.knowledge_base_max_chars
    if len(settings.knowledge_base) > limit:
        raise InvalidRequest(
            f"knowledge_base: {len(settings.knowledge_base)} characters, over this tenant's limit of {limit}.",
            param="knowledge_base",
            code="knowledge_base_too_large",
        )
    unknown = [name for name in settings.default_prompts if name not in settings.prompts]
    if unknown:
        raise InvalidRequest(
            f"default_prompts: {', '.join(unknown)} not among this bot's prompts.",
            param="default_prompts",
            code="unknown_prompt",
        )


def _check_size(bot: Bot) -> None:
    """413 naming the largest field when the stored bot would not fit in one DynamoDB item.

    Every request is under the body limit, but PATCHes add up: two small ones can grow a bot past what a write takes.
    """
    size = len(config_document(bot).encode())
    if size <= MAX_CONFIG_BYTES:
        return
    fields = bot.model_dump(mode="json", exclude={"id", "version", "created_at", "updated_at"})
    sizes = {
        name: len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())
        for name, value in fields.items()
    }
    largest = max(sizes, key=sizes.__getitem__)
    raise PayloadTooLarge(
        f"{largest}: the bot would take {_kb(size)} KB stored, over the {_kb(MAX_CONFIG_BYTES)} KB a bot may hold; "
        f"{largest} is its largest field ({_kb(sizes[largest])} KB). Shorten it, or split the bot.",
        param=largest,
        code="bot_too_large",
    )


def _kb(size: int) -> str:
    return f"{size / 1024:.0f}"


def _audit(caller: Caller, bot_id: str, action: str, changed: list[str]) -> AuditEntry:
    return AuditEntry(caller.tenant_id, caller.key_prefix, action, f"bot/{bot_id}", changed)


def get_bot(tenant_id: str, bot_id: str) -> Bot:
    bot = stores().bots.get(tenant_id, bot_id, consistent=True)
    if bot is None:
        raise NotFound(f"No bot '{bot_id}'.", param="bot", code="bot_not_found")
    return bot


def create_bot(caller: Caller, body: BotCreate) -> Bot:
    tenant = stores().tenants.require(caller.tenant_id)
    _check_against_tenant(body, tenant)
    now = utc_now()
    bot = Bot(**body.model_dump(), version=1, created_at=now, updated_at=now)
    _check_size(bot)
    return stores().bots.create(
        caller.tenant_id, bot, _audit(caller, bot.id, "bot.create", sorted(body.model_fields_set))
    )


def expected_version(body_version: int | None, if_match: str | None) -> tuple[int, bool]:
    """The version the caller read, and whether it came from If-Match (which answers 412, not 409)."""
    if if_match:
        tag = if_match.strip().removeprefix("W/").strip('"')
        if not tag.isdigit():
            raise InvalidRequest('If-Match must be the bot\'s ETag, e.g. "3".', param="If-Match")
        return int(tag), True
    if body_version is None:
        raise PreconditionRequired(
            "Send the version you read (field 'version', or an If-Match header) so no one's change is overwritten.",
            param="version",
        )
    return body_version, False


def _write(caller: Caller, current: Bot, settings: dict[str, Any], expected: int, from_if_match: bool) -> Bot:
    tenant = stores().tenants.require(caller.tenant_id)
    try:
        merged = BotSettings.model_validate(settings)
    except ValidationError as error:  # a merged PATCH is validated here, not by the route: same 400, field named
        raise describe_validation_errors(error.errors()) from None
    _check_against_tenant(merged, tenant)
    if expected != current.version:
        _version_mismatch(current, expected, from_if_match)
    changed = changed_paths(current.model_dump(mode="json", exclude=_READ_ONLY), merged.model_dump(mode="json"))
    bot = Bot(
        **merged.model_dump(),
        id=current.id,
        version=current.version + 1,
        created_at=current.created_at,
        updated_at=utc_now(),
    )
    _check_size(bot)
    try:
        return stores().bots.replace(caller.tenant_id, bot, expected, _audit(caller, bot.id, "bot.update", changed))
    except Conflict as error:
        if from_if_match:
            raise PreconditionFailed(error.message, param="If-Match") from error
        raise


def _version_mismatch(current: Bot, expected: int, from_if_match: bool) -> None:
    message = f"Bot '{current.id}' is at version {current.version}, you sent {expected}. Read it again first."
    if from_if_match:
        raise PreconditionFailed(message, param="If-Match")
    raise Conflict(message, param="version", code="version_conflict")


def replace_bot(caller: Caller, bot_id: str, body: BotReplace, if_match: str | None) -> Bot:
    if body.id is not None and body.id != bot_id:
        raise InvalidRequest(f"id: the body names bot '{body.id}' but the path names '{bot_id}'.", param="id")
    current = get_bot(caller.tenant_id, bot_id)
    expected, from_if_match = expected_version(body.version, if_match)
    settings = body.model_dump(exclude={"version", "id", "created_at", "updated_at"})
    return _write(caller, current, settings, expected, from_if_match)


def patch_bot(caller: Caller, bot_id: str, body: BotPatch, if_match: str | None) -> Bot:
    """A JSON Merge Patch (RFC 7386) of the bot: nested objects merge, `null` resets a field, arrays replace."""
    current = get_bot(caller.tenant_id, bot_id)
    expected, from_if_match = expected_version(body.version, if_match)
    settings = merge_patch(current.model_dump(mode="json", exclude=_READ_ONLY), body.merge_patch())
    return _write(caller, current, settings, expected, from_if_match)


def delete_bot(caller: Caller, bot_id: str) -> None:
    stores().bots.delete(caller.tenant_id, bot_id, _audit(caller, bot_id, "bot.delete", []))


def list_bots(tenant_id: str) -> list[Bot]:
    return stores().bots.list(tenant_id)
