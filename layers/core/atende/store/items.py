"""DynamoDB item sizes, and fitting a chat message into one item (400 KB, attribute names included)."""

from __future__ import annotations

import json
import math
from decimal import Decimal
from typing import Any

from atende.models.content import text_of

MAX_ITEM_BYTES = 350_000  # DynamoDB refuses items over 400 KB; the rest is headroom for what this count rounds
_MARKER = "\n\n[truncated by Atende: {omitted:,} more characters were not stored]"
_MARKER_ROOM = 96


def item_bytes(value: Any) -> int:
    """An upper bound of DynamoDB's size of an item (or attribute value), as its documentation counts it."""
    if isinstance(value, str):
        return len(value.encode("utf-8", "surrogatepass"))
    if isinstance(value, bytes):
        return len(value)
    if isinstance(value, bool) or value is None:
        return 1
    if isinstance(value, int | float | Decimal):
        return 21
    if isinstance(value, dict):
        return 3 + sum(item_bytes(str(name)) + item_bytes(item) + 1 for name, item in value.items())
    if isinstance(value, list | tuple | set):
        return 3 + sum(item_bytes(item) + 1 for item in value)
    return item_bytes(str(value))


def stored_json(message: dict[str, Any]) -> str:
    return json.dumps(message, ensure_ascii=False)


def fit_message(message: dict[str, Any], room: int) -> tuple[dict[str, Any], bool]:
    """The message, or a copy whose stored JSON fits in `room` bytes: its text cut, with a marker saying so.

    Content parts become their text; tool calls go too when they alone do not fit. The caller's answer is
    never cut: this is the stored copy only. Returns the message to store and whether it was truncated.
    """
    if item_bytes(stored_json(message)) <= room:
        return message, False
    text = text_of(message.get("content"))
    fitted = {key: value for key, value in message.items() if key != "content"} | {"content": ""}
    if item_bytes(stored_json(fitted)) + _MARKER_ROOM > room:
        fitted.pop("tool_calls", None)
    kept = text.encode("utf-8", "surrogatepass")[: max(0, room - item_bytes(stored_json(fitted)) - _MARKER_ROOM)]
    keep = kept.decode("utf-8", "ignore")
    while True:
        fitted["content"] = keep + _MARKER.format(omitted=len(text) - len(keep))
        overflow = item_bytes(stored_json(fitted)) - room
        if overflow <= 0 or not keep:
            return fitted, True
        # Cut by the average stored width of what is kept (escapes store up to six bytes per character).
        width = item_bytes(stored_json({"content": keep})) / len(keep)
        keep = keep[: max(0, len(keep) - max(1, math.ceil(overflow / width)))]
