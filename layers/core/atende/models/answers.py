"""What the API answers, as documented in the OpenAPI document: the error envelope and the chat answers."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Open(BaseModel):
    """An answer that may gain fields: clients must ignore the ones they do not know."""

    model_config = ConfigDict(extra="allow")


class ErrorDetail(BaseModel):
    message: str = Field(description="What went wrong, for a person to read.")
    type: str = Field(description="OpenAI's error class: invalid_request_error, authentication_error, …")
    param: str | None = Field(description="The field, parameter or header at fault, when there is one.")
    code: str | None = Field(description="A stable machine-readable code (`bot_not_found`, `limit_exceeded`, …).")


class ErrorEnvelope(BaseModel):
    """OpenAI's error envelope, which every Atende error (and API Gateway's own) uses, so SDKs surface it."""

    error: ErrorDetail


class AnswerUsage(_Open):
    prompt_tokens: int
    cached_tokens: int
    completion_tokens: int
    total_tokens: int


class WebhookChoice(_Open):
    index: int
    message: dict[str, Any] | None
    finish_reason: str | None


class WebhookChatAnswer(_Open):
    """The flat answer of `POST /v1/bots/{bot}/chat`: map `reply`; route on `handoff`."""

    reply: str
    responses: list[str]
    finish_reason: str | None
    handoff: bool
    handoff_reason: str | None
    handoff_detail: str | None
    flagged: bool
    source: str
    conversation_id: str | None
    request_id: str = Field(description="The same id as the answer's `x-request-id` header.")
    bot: str
    model: str | None
    usage: AnswerUsage
    cost_usd: str = Field(description="What this turn cost, in US dollars (a decimal string).")
    choices: list[WebhookChoice]
    history: list[dict[str, Any]] | None = Field(default=None, description="With `return_history`.")
    raw: dict[str, Any] | None = Field(default=None, description="With `raw`: the provider's answer.")


class CompletionChoice(_Open):
    index: int
    message: dict[str, Any]
    finish_reason: str | None


class ChatCompletion(_Open):
    """OpenAI's `chat.completion`; Atende's extras ride in `atende` (`request_id`, `handoff`, …)."""

    id: str
    object: str = Field(description="`chat.completion`")
    created: int
    model: str
    choices: list[CompletionChoice]
    usage: dict[str, Any] | None
    conversation_id: str | None = None
    atende: dict[str, Any] = Field(description="`request_id` (the `x-request-id` header), `handoff`, `flagged`, …")


class ChatCompletionChunk(_Open):
    """One `data:` event of a streamed completion (`stream: true`); the stream ends with `data: [DONE]`."""

    id: str
    object: str = Field(description="`chat.completion.chunk`")
    created: int
    model: str
    choices: list[dict[str, Any]]
    usage: dict[str, Any] | None = Field(default=None, description="In the last chunk, with `include_usage`.")
