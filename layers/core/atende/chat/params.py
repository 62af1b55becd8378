"""A turn's provider request: bot defaults merged with per-call overrides, response formats, the fallback chain."""

from __future__ import annotations

from typing import Any

from atende.chat.handoff import HANDOFF_TOOL
from atende.models.bots import Bot
from atende.platform.errors import InvalidRequest
from atende.providers.upstream import REASONING_MODEL_PREFIXES, Target

DEFAULT_MAX_OUTPUT_TOKENS = 1024  # sent when nobody set max_tokens, so a reservation always bounds the spend
# Reasoning models spend part of max_completion_tokens thinking: a 1024 cap would often leave no visible answer.
DEFAULT_MAX_OUTPUT_TOKENS_REASONING = 8192
SAMPLING_DEFAULTS = ("temperature", "top_p", "frequency_penalty", "presence_penalty", "max_tokens")


def provider_params(
    bot: Bot | None, overrides: dict[str, Any], messages: list[dict[str, Any]], model: str
) -> dict[str, Any]:
    """The bot's sampling defaults, then the call's overrides (an explicit `text` format drops the bot's JSON)."""
    params: dict[str, Any] = {}
    if bot:
        sampling = bot.sampling
        params.update(
            {name: getattr(sampling, name) for name in SAMPLING_DEFAULTS if getattr(sampling, name) is not None}
        )
        if (default_format := response_format(sampling.response_format)) is not None:
            params["response_format"] = default_format
        if bot.handoff.tool:
            params["tools"] = [HANDOFF_TOOL]
    call = dict(overrides)
    if "response_format" in call:
        params.pop("response_format", None)
        call["response_format"] = response_format(call["response_format"])
    if bot and bot.handoff.tool and call.get("tools"):
        call["tools"] = [*call["tools"], HANDOFF_TOOL]
    params.update({k: v for k, v in call.items() if v is not None})
    params.setdefault(
        "max_tokens", DEFAULT_MAX_OUTPUT_TOKENS_REASONING if is_reasoning_model(model) else DEFAULT_MAX_OUTPUT_TOKENS
    )
    params["messages"] = messages
    return params


def is_reasoning_model(model: str) -> bool:
    return model.split("/")[-1].startswith(REASONING_MODEL_PREFIXES)


def response_format(value: Any) -> dict[str, Any] | None:
    """`text` / `json` / a JSON schema (bare, or OpenAI's own `response_format` object) → OpenAI's form."""
    if value in (None, "text"):
        return None
    if value in ("json", "json_object"):
        return {"type": "json_object"}
    if hasattr(value, "model_dump"):
        value = value.model_dump(by_alias=True)
    if isinstance(value, dict) and value.get("type") in ("text", "json_object", "json_schema"):
        return value if value["type"] != "text" else None
    if isinstance(value, dict) and "schema" in value:
        schema = {
            "name": value.get("name", "response"),
            "schema": value["schema"],
            "strict": bool(value.get("strict", False)),
        }
        return {"type": "json_schema", "json_schema": schema}
    if isinstance(value, dict):
        return {"type": "json_schema", "json_schema": {"name": "response", "schema": value}}
    raise InvalidRequest("response_format must be 'text', 'json' or a JSON schema.", param="response_format")


def targets(bot: Bot | None, model: str) -> list[Target]:
    """Where a turn may go, in order: the bot's provider, then its fallbacks (each with its own credential)."""
    if bot is None:
        return [Target("openai", model)]
    return [Target(bot.provider, model), *(Target(f.provider, f.model or model) for f in bot.fallbacks)]
