"""The provider request of a turn: defaults, overrides, response formats, fallbacks, reasoning-model tokens."""

from __future__ import annotations

import pytest

from atende.billing.estimate import reservation_estimate
from atende.billing.pricing import resolve_price
from atende.chat.params import (
    DEFAULT_MAX_OUTPUT_TOKENS,
    DEFAULT_MAX_OUTPUT_TOKENS_REASONING,
    provider_params,
    response_format,
    targets,
)
from atende.models.bots import Bot
from atende.platform.errors import InvalidRequest
from atende.providers.upstream import Target, wire_params

MESSAGES = [{"role": "user", "content": "hola"}]


def bot(**settings: object) -> Bot:
    return Bot.model_validate({"id": "b", "version": 1, "created_at": "x", "updated_at": "x", **settings})


def test_bot_defaults_then_call_overrides() -> None:
    params = provider_params(
        bot(sampling={"temperature": 0.2, "max_tokens": 300}), {"temperature": 0.9}, MESSAGES, "gpt-4o"
    )
    assert params["temperature"] == 0.9 and params["max_tokens"] == 300 and params["messages"] == MESSAGES


def test_max_tokens_is_always_sent_so_a_reservation_bounds_the_spend() -> None:
    assert provider_params(None, {}, MESSAGES, "gpt-4o-mini")["max_tokens"] == DEFAULT_MAX_OUTPUT_TOKENS
    assert provider_params(None, {}, MESSAGES, "gpt-5-mini")["max_tokens"] == DEFAULT_MAX_OUTPUT_TOKENS_REASONING


def test_an_explicit_text_format_drops_the_bots_json_default() -> None:
    json_bot = bot(sampling={"response_format": "json"})
    assert provider_params(json_bot, {}, MESSAGES, "gpt-4o")["response_format"] == {"type": "json_object"}
    assert "response_format" not in provider_params(json_bot, {"response_format": "text"}, MESSAGES, "gpt-4o")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("json", {"type": "json_object"}),
        ({"type": "json_object"}, {"type": "json_object"}),
        ({"type": "text"}, None),
        (
            {"type": "object", "properties": {"a": {"type": "string"}}},
            {
                "type": "json_schema",
                "json_schema": {
                    "name": "response",
                    "schema": {"type": "object", "properties": {"a": {"type": "string"}}},
                },
            },
        ),
        (
            {"name": "order", "schema": {"type": "object"}, "strict": True},
            {"type": "json_schema", "json_schema": {"name": "order", "schema": {"type": "object"}, "strict": True}},
        ),
    ],
)
def test_response_formats_become_openais_form(value: object, expected: object) -> None:
    assert response_format(value) == expected


def test_an_unknown_response_format_names_the_field() -> None:
    with pytest.raises(InvalidRequest) as raised:
        response_format(42)
    assert raised.value.param == "response_format"


def test_the_handoff_tool_joins_the_callers_tools() -> None:
    tools = [{"type": "function", "function": {"name": "order_status"}}]
    params = provider_params(bot(handoff={"tool": True}), {"tools": tools}, MESSAGES, "gpt-4o")
    assert [t["function"]["name"] for t in params["tools"]] == ["order_status", "handoff"]


def test_fallback_chain_keeps_the_bot_model_unless_a_fallback_names_one() -> None:
    chained = bot(
        model="gpt-4o", fallbacks=[{"provider": "azure"}, {"provider": "gemini", "model": "gemini-2.5-flash"}]
    )
    assert targets(chained, "gpt-4o") == [
        Target("openai", "gpt-4o"),
        Target("azure", "gpt-4o"),
        Target("gemini", "gemini-2.5-flash"),
    ]


@pytest.mark.parametrize(
    ("model", "field"),
    [
        ("gpt-4o-mini", "max_tokens"),
        ("o4-mini", "max_completion_tokens"),
        ("gpt-5-mini", "max_completion_tokens"),
        ("openai/o3", "max_completion_tokens"),
    ],
)
def test_reasoning_models_get_max_completion_tokens(model: str, field: str) -> None:
    wire = wire_params({"max_tokens": 100, "messages": MESSAGES, "model": "x"}, model)
    assert wire[field] == 100 and "model" not in wire
    assert ("max_tokens" in wire) == (field == "max_tokens")


def test_the_reservation_covers_tools_images_and_the_priciest_target() -> None:
    plain = provider_params(None, {"max_tokens": 100}, MESSAGES, "gpt-4o-mini")
    mini, big = resolve_price("gpt-4o-mini"), resolve_price("gpt-4o")
    base_micros, base_tokens = reservation_estimate(plain, [mini])
    tools = [{"type": "function", "function": {"name": "lookup", "description": "x " * 2000, "parameters": {}}}]
    with_tools = provider_params(None, {"max_tokens": 100, "tools": tools}, MESSAGES, "gpt-4o-mini")
    assert reservation_estimate(with_tools, [mini])[1] >= base_tokens + 2000
    image = [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "¿y esto?"},
                {"type": "image_url", "image_url": {"url": "https://x/y.png"}},
            ],
        }
    ]
    with_image = provider_params(None, {"max_tokens": 100}, image, "gpt-4o-mini")
    assert reservation_estimate(with_image, [mini])[1] >= base_tokens + 1_000
    assert reservation_estimate(plain, [mini, big])[0] == reservation_estimate(plain, [big])[0] > base_micros
