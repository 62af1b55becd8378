"""Chat request models: the OpenAI-compatible body and the flat webhook body no-code tools send."""

from __future__ import annotations

import json
import math
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationInfo, field_validator, model_validator

from atende.models.bots import ModelName, PromptName
from atende.models.webhook_inputs import (
    MAX_ATTACHMENTS,
    Attachment,
    ConversationId,
    attachments_value,
    chat_platform_fields,
    decimal_comma,
    lower_word,
)
from atende.platform.errors import InvalidRequest

__all__ = ["ChatCompletionRequest", "ChatMessage", "ConversationId", "WebhookChatRequest", "finite_json"]

MAX_MESSAGE_CHARS = 32_000
Role = Literal["system", "developer", "user", "assistant", "tool"]


def _not_a_number(literal: str) -> float:
    raise ValueError(f"numbers must be finite (got {literal})")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"numbers must be finite (got {text})")
    return value


def finite_json(text: str) -> Any:
    """`json.loads` refusing NaN, Infinity and overflowing numbers (what the request body check refuses too)."""
    return json.loads(text, parse_constant=_not_a_number, parse_float=_finite_float)


class ChatMessage(BaseModel):
    """One message in OpenAI's shape: content is text, content parts (text, image_url) or null.

    Keys OpenAI or Atende add to messages they return (`annotations`, `audio`, `created_at`, `seq`, …) are
    dropped, so a history read back from either can be sent again as is.
    """

    model_config = ConfigDict(extra="ignore")

    role: Role
    content: str | list[dict[str, Any]] | None = None
    name: str | None = Field(default=None, max_length=64)
    tool_calls: list[dict[str, Any]] | None = None
    tool_call_id: str | None = Field(default=None, max_length=128)
    refusal: str | None = None

    @field_validator("content")
    @classmethod
    def _parts(cls, value: str | list[dict[str, Any]] | None) -> str | list[dict[str, Any]] | None:
        if isinstance(value, str) and len(value) > MAX_MESSAGE_CHARS:
            raise ValueError(f"at most {MAX_MESSAGE_CHARS} characters")
        if isinstance(value, list):
            for part in value:
                kind = part.get("type")
                if kind not in ("text", "image_url", "input_audio", "file", "refusal"):
                    raise ValueError(f"unknown content part type {kind!r}")
                if kind == "text" and not isinstance(part.get("text"), str):
                    raise ValueError("a text part needs a 'text' string")
                if kind == "image_url" and not isinstance((part.get("image_url") or {}).get("url"), str):
                    raise ValueError("an image_url part needs 'image_url.url'")
        return value

    def openai(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


class SamplingOverrides(BaseModel):
    """Per-call parameters in OpenAI's ranges; numbers and booleans sent as strings are accepted."""

    model: ModelName | None = None
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    frequency_penalty: float | None = Field(default=None, ge=-2, le=2)
    presence_penalty: float | None = Field(default=None, ge=-2, le=2)
    max_tokens: int | None = Field(default=None, ge=1, le=128_000)
    n: int | None = Field(default=None, ge=1, le=8)
    conversation_id: ConversationId | None = Field(
        default=None,
        description="Any printable text up to 128 characters (`+5491100000000`, `-1001234567890`, `María José`), "
        "trimmed; percent-encode it in paths.",
    )
    prompts: list[PromptName] | None = Field(default=None, max_length=20)
    use_history: bool = True

    @field_validator("temperature", "top_p", "frequency_penalty", "presence_penalty", mode="before")
    @classmethod
    def _decimal_comma(cls, value: Any) -> Any:
        return decimal_comma(value)

    @field_validator("prompts", mode="before")
    @classmethod
    def _comma_list(cls, value: Any) -> Any:
        """'ventas, breve' from a template variable is a list of two prompt names."""
        if isinstance(value, str):
            return [name.strip() for name in value.split(",") if name.strip()]
        return value


class WebhookChatRequest(SamplingOverrides):
    """POST /v1/bots/{bot}/chat: flat JSON that Weni, Typebot, n8n, Zapier or Make can build from variables.

    Keys Atende does not know are ignored (tools often post their whole context: contact, flow, results);
    a number where text is expected (a numeric message or contact id) is taken as text. RapidPro/Weni's default
    webhook body works as it is (`input.text`, `input.attachments`, `contact.urn`).
    """

    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True)

    attachments: list[Attachment] | None = Field(
        default=None,
        max_length=MAX_ATTACHMENTS,
        description="Files the customer sent: `{content_type, url}`, `type/subtype:url` or a URL. Images are "
        "shown to the model; other files are named to it (it cannot open them).",
    )
    message: str = Field(
        default="",
        max_length=MAX_MESSAGE_CHARS,
        validate_default=True,
        description="The customer's message (may be empty when `attachments` are sent).",
    )
    history: list[ChatMessage] | None = Field(default=None, max_length=500)
    system: str | None = Field(default=None, max_length=20_000)
    response_format: Literal["text", "json", "json_object"] | dict[str, Any] | None = None
    return_history: bool | Literal["full"] = Field(
        default=False,
        description="Include the updated history in the answer, to send back as `history`: the dialogue only "
        '(`true`), or with the system prompt the model saw (`"full"`).',
    )
    raw: bool = Field(default=False, description="Include the provider's raw JSON in the answer.")

    @model_validator(mode="before")
    @classmethod
    def _blank_is_absent(cls, data: Any) -> Any:
        """Templating tools send "" for an empty variable: treat it as not sent (except the message)."""
        if isinstance(data, dict):
            data = chat_platform_fields(data)
            return {k: v for k, v in data.items() if not (k != "message" and isinstance(v, str) and v.strip() == "")}
        return data

    @field_validator("message")
    @classmethod
    def _not_blank(cls, value: str, info: ValidationInfo) -> str:
        if not value.strip() and not info.data.get("attachments"):
            raise ValueError("Field required (a message, or attachments)" if not value else "must not be blank")
        return value

    @field_validator("attachments", mode="before")
    @classmethod
    def _attachment_forms(cls, value: Any) -> Any:
        return attachments_value(value)

    @field_validator("return_history", mode="before")
    @classmethod
    def _history_word(cls, value: Any) -> Any:
        return lower_word(value)

    @field_validator("history", mode="before")
    @classmethod
    def _json_string(cls, value: Any) -> Any:
        """Tools that can only send strings send the history as a JSON string holding an array."""
        if isinstance(value, str):
            try:
                value = finite_json(value)
            except json.JSONDecodeError as error:
                raise ValueError(f"not a JSON array ({error.msg})") from error
        if value is not None and not isinstance(value, list):
            raise ValueError("must be a list of messages (or a string holding a JSON array)")
        return value

    @field_validator("response_format", mode="before")
    @classmethod
    def _schema_string(cls, value: Any) -> Any:
        value = lower_word(value)
        if isinstance(value, str) and value.strip().startswith("{"):
            try:
                return finite_json(value)
            except json.JSONDecodeError as error:
                raise ValueError(f"not valid JSON ({error.msg})") from error
        return value


PASSTHROUGH_FIELDS = frozenset(
    {
        "seed",
        "stop",
        "user",
        "logprobs",
        "top_logprobs",
        "logit_bias",
        "parallel_tool_calls",
        "metadata",
        "store",
        "service_tier",
        "reasoning_effort",
        "verbosity",
        "prediction",
        "modalities",
        "audio",
        "safety_identifier",
        "prompt_cache_key",
        "web_search_options",
    }
)


class ChatCompletionRequest(SamplingOverrides):
    """POST /v1/chat/completions in OpenAI's wire format; `model` is `bot:<id>` or a model name.

    Fields Atende does not know are passed through to the provider unchanged.
    """

    model_config = ConfigDict(extra="allow")

    model: Annotated[str, StringConstraints(min_length=1, max_length=128)]  # type: ignore[assignment]
    messages: list[ChatMessage] = Field(min_length=1, max_length=500)
    max_completion_tokens: int | None = Field(default=None, ge=1, le=128_000)
    response_format: dict[str, Any] | None = None
    tools: list[dict[str, Any]] | None = Field(default=None, max_length=128)
    tool_choice: str | dict[str, Any] | None = None
    stream: bool = False
    stream_options: dict[str, Any] | None = None

    def passthrough(self) -> dict[str, Any]:
        """OpenAI parameters Atende passes on without interpreting them; any other unknown field is refused.

        Model, n, max_tokens and stream are Atende's to set (the budget reservation depends on them), and the
        SDK's own options (`extra_body`, `extra_headers`, `timeout`…) are not request fields at all.
        """
        extras = dict(self.model_extra or {})
        for name in extras:
            if name not in PASSTHROUGH_FIELDS:
                raise InvalidRequest(
                    f"{name}: not a parameter Atende accepts on /v1/chat/completions.",
                    param=name,
                    code="unknown_parameter",
                )
        return extras
