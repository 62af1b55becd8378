"""Shared model bases and field types (identifiers, strict request bodies)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, SecretStr, StringConstraints, field_validator

# Control characters other than tab and newlines: never meaningful in text a bot reads or an admin types,
# and NUL or escape sequences break logs, terminals and downstream systems.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# In a one-line label, also line breaks and the bidirectional overrides/isolates that make a name display
# as something else ("Trojan Source"); free text keeps them, since right-to-left scripts may need them.
_LABEL_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _plain_label(value: str) -> str:
    found = _LABEL_FORBIDDEN.search(value)
    if found:
        raise ValueError(f"character U+{ord(found[0]):04X} is not allowed in a name or label")
    return value


def _control_character(value: Any) -> str | None:
    """The first control character in a string anywhere inside `value` (lists, dicts, secrets), if any."""
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    if isinstance(value, str):
        found = _CONTROL.search(value)
        return found[0] if found else None
    if isinstance(value, dict):
        value = [*value.keys(), *value.values()]
    if isinstance(value, list | tuple | set | frozenset):
        return next((c for item in value if (c := _control_character(item)) is not None), None)
    return None


# Identifiers that appear in URLs and DynamoDB keys: lower-case slugs, so they never need escaping.
Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
Label = Annotated[
    str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True), AfterValidator(_plain_label)
]


class RequestModel(BaseModel):
    """A request body: unknown fields are an error, so a typo never silently does nothing."""

    model_config = ConfigDict(extra="forbid", str_max_length=200_000)


class ConfigBody(RequestModel):
    """A configuration body: what it holds is stored and shown back, so control characters are refused too.

    (Chat and moderation bodies carry end users' text as it came, and keep their own rules.)
    """

    @field_validator("*")
    @classmethod
    def _no_control_characters(cls, value: Any) -> Any:
        """Refuse NUL and other control characters in any text of a request (nested models check their own)."""
        found = _control_character(value)
        if found is not None:
            raise ValueError(f"control character U+{ord(found):04X} is not allowed")
        return value


class ResponseModel(BaseModel):
    model_config = ConfigDict(extra="ignore")


def utc_now() -> str:
    """ISO-8601 UTC timestamp with milliseconds: sortable as a string, as the table's sort keys need."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
