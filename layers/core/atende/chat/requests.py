"""From an endpoint's validated body to a TurnRequest: the webhook form and the OpenAI-compatible form."""

from __future__ import annotations

from typing import Any

from atende.chat.turn import TurnRequest
from atende.models.chat import ChatCompletionRequest, SamplingOverrides, WebhookChatRequest
from atende.models.content import text_of
from atende.models.webhook_inputs import Attachment
from atende.platform.errors import InvalidRequest

SAMPLING = ("temperature", "top_p", "frequency_penalty", "presence_penalty", "max_tokens", "n")
MAX_NEW_MESSAGES = 40  # one turn's new messages and its reply are stored in one transaction (100 items at most)


def _sampling(body: SamplingOverrides) -> dict[str, Any]:
    return {name: getattr(body, name) for name in SAMPLING if getattr(body, name) is not None}


def user_content(message: str, attachments: list[Attachment] | None) -> str | list[dict[str, Any]]:
    """The webhook's message as the model reads it: the text alone, or content parts when files came along.

    Images become `image_url` parts (the provider fetches and reads them). Other files (audio, video, documents)
    cannot be passed by URL, so they are named to the model in a text part: the bot can then say it cannot open
    them and ask for text, in its own voice and language, instead of answering as if nothing had been sent.
    """
    if not attachments:
        return message
    parts: list[dict[str, Any]] = [{"type": "text", "text": message}] if message.strip() else []
    for attachment in attachments:
        if attachment.is_image:
            parts.append({"type": "image_url", "image_url": {"url": attachment.url}})
        else:
            kind = attachment.content_type or "a file"
            parts.append({"type": "text", "text": f"[The customer sent {kind} you cannot open: {attachment.url}]"})
    return parts


def from_webhook(tenant_id: str, bot_id: str, request_id: str, body: WebhookChatRequest) -> TurnRequest:
    params = _sampling(body)
    if body.response_format is not None:
        params["response_format"] = body.response_format
    return TurnRequest(
        tenant_id=tenant_id,
        bot_id=bot_id,
        request_id=request_id,
        new_messages=[{"role": "user", "content": user_content(body.message, body.attachments)}],
        conversation_id=body.conversation_id,
        use_history=body.use_history,
        client_history=[m.openai() for m in body.history] if body.history else None,
        extra_system=body.system,
        prompts=body.prompts,
        model=body.model,
        params=params,
    )


def from_completions(tenant_id: str, request_id: str, body: ChatCompletionRequest) -> TurnRequest:
    """`model: "bot:<id>"` runs a bot: system messages become per-call instructions, the trailing user/tool
    messages are the new input, and the rest is the history (unless a `conversation_id` brings the stored one).
    Any other model is a plain call with the messages as sent."""
    params = _sampling(body)
    if body.max_completion_tokens is not None:
        params["max_tokens"] = body.max_completion_tokens
    for name in ("response_format", "tools", "tool_choice"):
        if getattr(body, name) is not None:
            params[name] = getattr(body, name)
    params.update(body.passthrough())
    messages = [m.openai() for m in body.messages]
    if not body.model.startswith("bot:"):
        return TurnRequest(
            tenant_id=tenant_id,
            bot_id=None,
            request_id=request_id,
            new_messages=messages,
            model=body.model,
            params=params,
            handoff_on_failure=False,
        )
    system = "\n\n".join(text_of(m.get("content")) for m in messages if m["role"] in ("system", "developer"))
    dialogue = [m for m in messages if m["role"] not in ("system", "developer")]
    tail_start = len(dialogue)
    while tail_start > 0 and dialogue[tail_start - 1]["role"] in ("user", "tool"):
        tail_start -= 1
    new_messages = dialogue[tail_start:]
    if not new_messages:
        raise InvalidRequest("messages: the last message must be from the user (or a tool result).", param="messages")
    if len(new_messages) > MAX_NEW_MESSAGES:
        raise InvalidRequest(
            f"messages: at most {MAX_NEW_MESSAGES} new user/tool messages after the last assistant "
            "message in one turn.",
            param="messages",
        )
    return TurnRequest(
        tenant_id=tenant_id,
        bot_id=body.model.removeprefix("bot:"),
        request_id=request_id,
        new_messages=new_messages,
        conversation_id=body.conversation_id,
        use_history=body.use_history,
        client_history=None if body.conversation_id else dialogue[:tail_start],
        extra_system=system or None,
        prompts=body.prompts,
        params=params,
        handoff_on_failure=False,
    )
