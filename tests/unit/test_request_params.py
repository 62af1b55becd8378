"""The provider request of a turn: defaults, overrides, response formats, fallbacks, reasoning-model tokens."""

from __future__ import annotations

import pytest
from atende.errors import InvalidRequest
from atende.models.bots import Bot
from atende.providers import Target, wire_params
from atende.request_params import DEFAULT_MAX_OUTPUT_TOKENS, provider_params, response_format, targets

MESSAGES = [{"role": "user", "content": "hola"}]


def bot(**settings: object) -> Bot:
    return Bot.model_validate({"id": "b", "version": 1, "created_at": "x", "updated_at": "x", **settings})


def test_bot_defaults_then_call_overrides() -> None:
    params = provider_params(bot(sampling={"temperature": 0.2, "max_tokens": 300}), {"temperature": 0.9}, MESSAGES)
    assert params["temperature"] == 0.9 and params["max_tokens"] == 300 and params["messages"] == MESSAGES


def test_max_tokens_is_always_sent_so_a_reservation_bounds_the_spend() -> None:
    assert provider_params(None, {}, MESSAGES)["max_tokens"] == DEFAULT_MAX_OUTPUT_TOKENS


def test_an_explicit_text_format_drops_the_bots_json_default() -> None:
    json_bot = bot(sampling={"response_format": "json"})
    assert provider_params(json_bot, {}, MESSAGES)["response_format"] == {"type": "json_object"}
    assert "response_format" not in provider_params(json_bot, {"response_format": "text"}, MESSAGES)


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
    params = provider_params(bot(handoff={"tool": True}), {"tools": tools}, MESSAGES)
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
