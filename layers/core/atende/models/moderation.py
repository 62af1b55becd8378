"""Moderation and redaction models: OpenAI's wire format, the flat webhook form, and category name aliases."""

from __future__ import annotations

import json
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from atende.guards.redaction import PII_KINDS
from atende.models.bots import MODERATION_CATEGORIES
from atende.models.common import RequestModel

DEFAULT_MODERATION_MODEL = "omni-moderation-latest"
MAX_INPUT_ITEMS = 32
MAX_INPUT_BYTES = 64 * 1024  # UTF-8 bytes of all text of one request; images are not counted

# --- category names -------------------------------------------------------------------------------------------------
_ALIAS_SEPARATORS = re.compile(r"[/\-]")


def category_alias(category: str) -> str:
    """The underscore spelling of a category (`self-harm/intent` → `self_harm_intent`), safe in template paths."""
    return _ALIAS_SEPARATORS.sub("_", category)


_CANONICAL = {category_alias(c): c for c in MODERATION_CATEGORIES} | {c: c for c in MODERATION_CATEGORIES}


def canonical_category(name: str) -> str | None:
    """OpenAI's spelling of a known category given either spelling; None for an unknown name."""
    return _CANONICAL.get(name.strip().lower())


# --- input: a string, a list of strings, or OpenAI's multimodal parts -----------------------------------------------
class ModerationImageURL(BaseModel):
    url: str = Field(min_length=1, description="An https URL or a `data:image/...;base64,` URL.")


class ModerationTextPart(BaseModel):
    type: Literal["text"] = "text"
    text: str


class ModerationImagePart(BaseModel):
    type: Literal["image_url"] = "image_url"
    image_url: ModerationImageURL


ContentPart = Annotated[ModerationTextPart | ModerationImagePart, Field(discriminator="type")]

_SHAPE = "must be a string, a list of strings, or a list of {type: text|image_url} parts"


def _invalid(message: str) -> PydanticCustomError:
    return PydanticCustomError("invalid_input", message)


def _part(index: int, value: Any) -> dict[str, Any]:
    """One multimodal part, reduced to the fields OpenAI reads."""
    kind = value.get("type")
    if kind == "text":
        text = value.get("text")
        if not isinstance(text, str) or not text.strip():
            raise _invalid(f"item {index} is a text part without text")
        return {"type": "text", "text": text}
    if kind == "image_url":
        image = value.get("image_url")
        url = image.get("url") if isinstance(image, dict) else None
        if not isinstance(url, str) or not url.strip():
            raise _invalid(f"item {index} is an image_url part without image_url.url")
        return {"type": "image_url", "image_url": {"url": url}}
    raise _invalid(f"item {index} has type {kind!r}; expected 'text' or 'image_url'")


def check_input(value: Any) -> str | list[str] | list[dict[str, Any]]:
    """Validate and normalize a moderation `input`; each message follows the field name (`input: must not ...`)."""
    if value is None:
        raise _invalid("is required (the text to check)")
    if isinstance(value, str):
        if not value.strip():
            raise _invalid("must not be empty")
        texts = [value]
        normalized: str | list[str] | list[dict[str, Any]] = value
    elif isinstance(value, list):
        if not value:
            raise _invalid("must not be an empty list")
        if len(value) > MAX_INPUT_ITEMS:
            raise _invalid(f"has {len(value)} items; at most {MAX_INPUT_ITEMS} per request")
        if all(isinstance(item, str) for item in value):
            empty = next((i for i, item in enumerate(value) if not item.strip()), None)
            if empty is not None:
                raise _invalid(f"item {empty} must not be empty")
            texts, normalized = list(value), list(value)
        elif all(isinstance(item, dict) for item in value):
            parts = [_part(i, item) for i, item in enumerate(value)]
            texts, normalized = [p["text"] for p in parts if p["type"] == "text"], parts
        else:
            raise _invalid(_SHAPE)
    else:
        raise _invalid(_SHAPE)
    size = sum(len(text.encode()) for text in texts)
    if size > MAX_INPUT_BYTES:
        raise _invalid(f"has {size // 1024} KB of text; at most {MAX_INPUT_BYTES // 1024} KB per request")
    return normalized


ModerationInput = Annotated[str | list[str] | list[ContentPart], BeforeValidator(check_input)]


def wire_input(value: str | list[str] | list[ModerationTextPart | ModerationImagePart]) -> str | list[Any]:
    """The validated input as OpenAI's JSON expects it."""
    if isinstance(value, str):
        return value
    return [item.model_dump() if isinstance(item, BaseModel) else item for item in value]


# --- requests -------------------------------------------------------------------------------------------------------
class ModerationRequest(RequestModel):
    """POST /v1/moderations, as OpenAI takes it; unknown fields are refused, as OpenAI refuses them."""

    input: ModerationInput = Field(description="A string, up to 32 strings, or a list of text / image_url parts.")
    model: str = Field(default=DEFAULT_MODERATION_MODEL, min_length=1, max_length=128)

    @model_validator(mode="before")
    @classmethod
    def _required_input(cls, data: Any) -> Any:
        if isinstance(data, dict) and "input" not in data:
            return {**data, "input": None}  # so the refusal says what to send, not pydantic's "Field required"
        return data

    @field_validator("model", mode="before")
    @classmethod
    def _default_model(cls, value: Any) -> Any:
        return DEFAULT_MODERATION_MODEL if value is None else value


class ModerateRequest(RequestModel):
    """POST /v1/moderate, the flat form for workflow tools.

    The text comes as `input` (or `text`, which no-code tools name it more often); `input` wins when both are sent.
    A RapidPro/Weni message object (`{"text": ...}`) is accepted as `input`. Unknown fields are ignored, because
    webhook steps often post their whole context (contact, flow, results); a missing text is still refused.
    """

    model_config = ConfigDict(extra="ignore")

    input: ModerationInput = Field(description="The text to check: a string, a list of strings, or content parts.")
    model: str = Field(default=DEFAULT_MODERATION_MODEL, max_length=128)

    @model_validator(mode="before")
    @classmethod
    def _input_or_text(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        value = data.get("input")
        if value is None:
            value = data.get("text")
        if isinstance(value, dict) and "type" not in value:  # a chat platform's message object
            value = value.get("text")
        elif isinstance(value, dict):  # one multimodal part on its own
            value = [value]
        return {**data, "input": value}

    @field_validator("model", mode="before")
    @classmethod
    def _default_model(cls, value: Any) -> Any:
        return DEFAULT_MODERATION_MODEL if value in (None, "") else value


def _kinds(value: Any) -> Any:
    """Kinds as a list, a comma-separated string, or a JSON array in a string; empty means every kind."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                value = json.loads(text)
            except ValueError:
                raise PydanticCustomError("invalid_kinds", "is not a valid JSON array") from None
        else:
            value = [part for part in re.split(r"[\s,;]+", text) if part]
    if value is None or value == []:
        return None
    if not isinstance(value, list) or not all(isinstance(kind, str) for kind in value):
        raise PydanticCustomError("invalid_kinds", "must be a list of PII kind names")
    kinds = [kind.strip().lower() for kind in value]
    unknown = sorted(set(kinds) - set(PII_KINDS))
    if unknown:
        raise PydanticCustomError(
            "invalid_kinds",
            "unknown PII kind(s) {unknown}; expected some of {known}",
            {"unknown": ", ".join(unknown), "known": ", ".join(PII_KINDS)},
        )
    return list(dict.fromkeys(kinds))


class RedactRequest(RequestModel):
    """POST /v1/redact. Unknown fields are ignored, as on /v1/moderate."""

    model_config = ConfigDict(extra="ignore")

    text: str = Field(description="The text to mask (may be empty).")
    kinds: Annotated[list[str] | None, BeforeValidator(_kinds)] = Field(
        default=None, description=f"What to mask; every kind when omitted. Kinds: {', '.join(PII_KINDS)}."
    )

    @field_validator("text")
    @classmethod
    def _size(cls, value: str) -> str:
        if len(value.encode()) > MAX_INPUT_BYTES:
            raise PydanticCustomError("invalid_text", "is over {limit} KB", {"limit": MAX_INPUT_BYTES // 1024})
        return value


# --- responses ------------------------------------------------------------------------------------------------------
class _Passthrough(BaseModel):
    """Upstream JSON: fields we do not model are kept as they came."""

    model_config = ConfigDict(extra="allow")


class ModerationResult(_Passthrough):
    """One input's verdict; `category_applied_input_types` and any newer fields pass through unmodelled."""

    flagged: bool
    categories: dict[str, bool | None] = Field(default_factory=dict)
    category_scores: dict[str, float | None] = Field(default_factory=dict)


class ModerationResponse(_Passthrough):
    """OpenAI's moderation object, one result per input."""

    id: str = ""
    model: str = ""
    results: list[ModerationResult] = Field(min_length=1)


class ModerateResponse(BaseModel):
    """The flat answer of POST /v1/moderate (for a list input: any flag, and each category's highest score)."""

    flagged: bool
    flagged_categories: list[str] = Field(description="Flagged categories, highest score first.")
    top_category: str | None = Field(description="The category with the highest score, flagged or not.")
    top_score: float
    category_scores: dict[str, float] = Field(
        description="Every score under OpenAI's name and, for names with '/' or '-', an underscore alias too."
    )
    model: str


class RedactResponse(BaseModel):
    text: str = Field(description="The text with PII replaced by typed placeholders such as [EMAIL].")
    counts: dict[str, int] = Field(description="How many items of each kind were masked (kinds found only).")
    redacted: bool
