"""Shaping a turn's result: the flat webhook answer, the OpenAI completion, and its SSE stream."""

from __future__ import annotations

import json
from typing import Any, Literal

from atende.billing.budget import Usage
from atende.chat.params import response_format
from atende.chat.turns import TurnRequest, TurnResult
from atende.models.content import text_of
from atende.models.limits import SoftLimitState
from atende.web.sizes import ANSWER_BUDGET_BYTES, wire_bytes

# RapidPro/Weni (goflow's MaxWebhookResponseBytes) cut a webhook answer at 10,000 bytes, leaving invalid JSON and
# no fields at all: the flat answer stays under it, cutting what it must and saying so.
WEBHOOK_REPLY_BUDGET_BYTES = 10_000


def wants_json_reply(request: TurnRequest) -> bool:
    """Whether the turn asked the model for JSON (`json` or a schema), in the call or as the bot's default."""
    if "response_format" in request.params:
        return response_format(request.params["response_format"]) is not None
    bot = request.loaded_bot
    return bot is not None and response_format(bot.sampling.response_format) is not None


def parsed_reply(reply: str) -> tuple[Any, bool]:
    """The reply's JSON value and True, or None and False when the reply is not valid JSON."""
    try:
        return json.loads(reply), True
    except ValueError:
        return None, False


def webhook_answer(
    turn: TurnResult,
    bot_id: str,
    *,
    include_history: bool | Literal["full"],
    include_raw: bool,
    soft_limit: SoftLimitState | None = None,
    json_reply: bool = False,
) -> dict[str, Any]:
    """What a no-code tool maps: `reply` first, the rest flat, and `choices` in OpenAI's shape.

    With `json_reply`, `reply_json` is the reply parsed (null and `reply_json_valid: false` when it is not JSON).
    """
    responses = [text_of((c.get("message") or {}).get("content")) for c in turn.choices]
    answer: dict[str, Any] = {
        "reply": responses[0] if responses else "",
        "responses": responses,
        "finish_reason": turn.choices[0].get("finish_reason") if turn.choices else None,
        "handoff": turn.handoff is not None,
        "handoff_reason": turn.handoff.reason if turn.handoff else None,
        "handoff_detail": turn.handoff.detail if turn.handoff else None,
        "flagged": turn.flagged,
        "source": turn.source,
        "conversation_id": turn.conversation_id,
        "request_id": turn.request_id,
        "bot": bot_id,
        "model": turn.model,
        "usage": usage_summary(turn.usage),
        "cost_usd": f"{turn.cost_micros / 1_000_000:.6f}",
        "choices": [_choice(c) for c in turn.choices],
        "soft_limit": soft_limit.model_dump(mode="json") if soft_limit else None,
    }
    if json_reply:
        answer["reply_json"], answer["reply_json_valid"] = parsed_reply(answer["reply"])
    if turn.moderation:
        answer["moderation"] = turn.moderation
    if turn.billing_unresolved:  # `cost_usd` is what is known to be billed; this call may be billed after all
        answer["billing_unresolved"] = True
    _fit(answer)
    # The answer stays under Lambda's limit: `raw` when it takes at most half the budget, the history in the rest.
    raw_size = wire_bytes({"raw": turn.raw}) if include_raw else 0
    raw_fits = raw_size <= ANSWER_BUDGET_BYTES // 2
    if include_history:
        history = updated_history(turn, with_system=include_history == "full")
        _add_history(answer, history, room=ANSWER_BUDGET_BYTES - (raw_size if raw_fits else 0))
    if include_raw:
        answer["raw"] = turn.raw if raw_fits else None
        if not raw_fits:
            answer["raw_truncated"] = True
    return answer


def _add_history(answer: dict[str, Any], history: list[dict[str, Any]], *, room: int) -> None:
    """The newest messages of `history` that fit in `room` bytes, oldest first; `history_truncated` if cut.

    The newest are kept: a tool sends the history back as the next turn's, and the prompt keeps the recent part.
    """
    used = wire_bytes({**answer, "history": [], "history_truncated": True, "raw_truncated": True})
    kept: list[dict[str, Any]] = []
    for message in reversed(history):
        size = wire_bytes(message) + 1
        if used + size > room:
            break
        kept.append(message)
        used += size
    answer["history"] = kept[::-1]
    if len(kept) < len(history):
        answer["history_truncated"] = True


def _fit(answer: dict[str, Any]) -> None:
    """Keep the answer under the budget no-code tools handle, and say what was cut and why.

    First the duplicates (`choices` after the first repeat `responses`), then extra responses from the last
    (`responses_truncated` counts them), then `reply_json` (it repeats the reply), and the reply's tail last.
    `choices[0]` stays as long as it fits, since flows read `choices.0.message.content`.
    """

    def size() -> int:
        return len(json.dumps(answer, ensure_ascii=False).encode())

    if size() <= WEBHOOK_REPLY_BUDGET_BYTES:
        return
    total = len(answer["responses"])
    answer["truncated"] = True
    answer["responses_truncated"] = 0
    answer["truncated_reason"] = (
        f"The answer is kept under {WEBHOOK_REPLY_BUDGET_BYTES:,} bytes (chat platforms cut larger webhook "
        f"answers); all {total} response(s) were generated and billed."
    )
    answer["choices"] = answer["choices"][:1]
    while size() > WEBHOOK_REPLY_BUDGET_BYTES and len(answer["responses"]) > 1:
        answer["responses"].pop()
        answer["responses_truncated"] += 1
    if size() <= WEBHOOK_REPLY_BUDGET_BYTES:
        return
    if answer.get("reply_json") is not None:
        answer["reply_json"] = None
        answer["reply_json_truncated"] = True
    while size() > WEBHOOK_REPLY_BUDGET_BYTES and answer["reply"]:
        overflow = size() - WEBHOOK_REPLY_BUDGET_BYTES
        answer["reply"] = answer["reply"][: max(0, len(answer["reply"]) - max(overflow // 3, 16))]
        answer["responses"] = [answer["reply"]]
        if answer["choices"]:
            message = {"role": "assistant", "content": answer["reply"]}
            answer["choices"][0] = {**answer["choices"][0], "message": message}


def updated_history(turn: TurnResult, *, with_system: bool = False) -> list[dict[str, Any]]:
    """The history to send back as the next turn's `history`: past messages, the new message(s) and the reply.

    The reply is the chosen response (`reply`, the first); the others are in `responses` only, as one of them is
    what the customer saw. The bot's system prompt is rebuilt every turn, so it is left out: a flow that feeds the
    history back keeps a prompt of constant size. `with_system` puts it first, to see what the model saw.
    """
    system = [m for m in turn.prompt_messages if m.get("role") == "system"][:1] if with_system else []
    chosen: list[dict[str, Any]] = [c["message"] for c in turn.choices[:1] if c.get("message")]
    return [*system, *turn.past_messages, *turn.new_messages, *chosen]


def usage_summary(usage: dict[str, Any]) -> dict[str, int]:
    counted = Usage.from_openai(usage)  # the same reading of the provider's usage that billing uses
    return {
        "prompt_tokens": counted.input_tokens,
        "cached_tokens": counted.cached_input_tokens,
        "completion_tokens": counted.output_tokens,
        "total_tokens": int(usage.get("total_tokens") or 0),
    }


def completion_answer(turn: TurnResult, requested_model: str) -> dict[str, Any]:
    """An OpenAI `chat.completion`; Atende's extras ride in `atende` (SDKs keep unknown fields)."""
    raw = turn.raw or {}
    return {
        "id": raw.get("id") or f"chatcmpl-{turn.request_id}",
        "object": "chat.completion",
        "created": raw.get("created") or turn.created,
        "model": turn.model,
        "choices": turn.choices,
        "usage": turn.usage,
        "system_fingerprint": raw.get("system_fingerprint"),
        "conversation_id": turn.conversation_id,
        "atende": {
            "request_id": turn.request_id,
            "requested_model": requested_model,
            "handoff": turn.handoff is not None,
            "handoff_reason": turn.handoff.reason if turn.handoff else None,
            "flagged": turn.flagged,
            "source": turn.source,
            "moderation": turn.moderation,
            "max_tokens": turn.max_tokens,
        },
    }


def atende_headers(completion: dict[str, Any]) -> dict[str, str]:
    """How the turn was answered, as headers too: clients that keep only OpenAI's fields (LangChain) read these."""
    extras = completion.get("atende") or {}
    headers = {"x-atende-handoff": "true" if extras.get("handoff") else "false", "x-atende-source": extras["source"]}
    if extras.get("handoff_reason"):
        headers["x-atende-handoff-reason"] = str(extras["handoff_reason"])
    return headers


def sse_stream(completion: dict[str, Any], *, include_usage: bool) -> str:
    """The completion as `text/event-stream` chunks, as OpenAI streams it (buffered: API Gateway REST)."""
    base = {
        "id": completion["id"],
        "object": "chat.completion.chunk",
        "created": completion["created"],
        "model": completion["model"],
        "system_fingerprint": completion.get("system_fingerprint"),
    }
    events: list[dict[str, Any]] = []
    for choice in completion["choices"]:
        index, message = choice.get("index", 0), choice.get("message") or {}
        events.append(
            {
                **base,
                "choices": [{"index": index, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}],
            }
        )
        content = message.get("content")
        for piece in _pieces(content if isinstance(content, str) else ""):
            events.append({**base, "choices": [{"index": index, "delta": {"content": piece}, "finish_reason": None}]})
        for position, call in enumerate(message.get("tool_calls") or []):
            delta = {"tool_calls": [{"index": position, **call}]}
            events.append({**base, "choices": [{"index": index, "delta": delta, "finish_reason": None}]})
        events.append(
            {**base, "choices": [{"index": index, "delta": {}, "finish_reason": choice.get("finish_reason")}]}
        )
    if include_usage:
        events.append({**base, "choices": [], "usage": completion.get("usage")})
    if events:
        events[-1]["atende"] = completion.get("atende")
        events[-1]["conversation_id"] = completion.get("conversation_id")
    lines = [f"data: {json.dumps(event, ensure_ascii=False)}\n\n" for event in events]
    return "".join(lines) + "data: [DONE]\n\n"


def _pieces(text: str, size: int = 24) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


def _choice(choice: dict[str, Any]) -> dict[str, Any]:
    return {
        "index": choice.get("index", 0),
        "message": choice.get("message"),
        "finish_reason": choice.get("finish_reason"),
    }
