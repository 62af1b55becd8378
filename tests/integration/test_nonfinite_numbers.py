"""NaN and Infinity literals (which Python's JSON parser accepts) are a 400 naming the field, before any budget hold."""

from __future__ import annotations

import pytest

from tests.support import ChatSetup

JSON = {"Content-Type": "application/json"}
TURN = '{"model": "bot:shop", "messages": [{"role": "user", "content": "hola"}]'


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_a_non_finite_passthrough_parameter_is_a_400_before_the_budget_is_held(setup: ChatSetup, literal: str) -> None:
    assert setup.tenant.call("PUT", "/v1/limits", json_body={"monthly_budget_usd": "1"}).status == 200
    body = TURN + f', "seed": {literal}}}'
    answer = setup.tenant.api.call("POST", "/v1/chat/completions", key=setup.key, data=body, headers=JSON)
    assert answer.status == 400, answer.text
    assert answer.error["param"] == "seed" and answer.error["code"] == "invalid_value"
    assert setup.chat_requests() == []
    # Nothing was held: the next, valid turn goes through on the same budget.
    assert setup.completions({"model": "bot:shop", "messages": [{"role": "user", "content": "hola"}]}).status == 200


def test_a_non_finite_number_deep_in_the_messages_is_named_by_its_path(setup: ChatSetup) -> None:
    body = '{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "a"}, {"role": "user", "content": NaN}]}'
    answer = setup.tenant.api.call("POST", "/v1/chat/completions", key=setup.key, data=body, headers=JSON)
    assert answer.status == 400 and answer.error["param"] == "messages[1].content", answer.text


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ('{"message": "hola", "temperature": NaN}', "temperature"),
        ('{"message": Infinity}', "message"),  # numbers are taken as text on the webhook: not this one
        ('{"message": "hola", "contact": {"fields": [-Infinity]}}', "contact.fields[0]"),  # even an ignored key
    ],
)
def test_the_webhook_refuses_non_finite_numbers(setup: ChatSetup, body: str, param: str) -> None:
    answer = setup.tenant.api.call("POST", "/v1/bots/shop/chat", key=setup.key, data=body, headers=JSON)
    assert answer.status == 400, answer.text
    assert answer.error["param"] == param
    assert setup.chat_requests() == []


def test_a_history_sent_as_a_json_string_refuses_non_finite_numbers(setup: ChatSetup) -> None:
    history = '[{"role": "user", "content": "a", "x": NaN}]'
    answer = setup.chat({"message": "hola", "history": history})
    assert answer.status == 400, answer.text
    assert answer.error["param"] == "history"
    assert setup.chat_requests() == []
