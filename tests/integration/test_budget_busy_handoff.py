"""A webhook turn whose budget counters stay busy hands off (a 200), as it does when the provider fails."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devtools.aws_local import EmbeddedAWS
from devtools.strict_dynamodb import StrictControl
from tests.support import ChatSetup

pytestmark = pytest.mark.serial  # concurrent or timed: run alone (see the Makefile's test target)


@pytest.fixture
def busy_counters(aws: EmbeddedAWS) -> Iterator[StrictControl]:
    """Every transaction answers a conflict (botocore does not retry it): reservations stay contended."""
    control = aws.strict
    assert control is not None
    control.reset()
    control.fault("TransactWriteItems", "error", code="TransactionConflictException", status=400)
    yield control
    control.reset()


def test_webhook_hands_off_when_the_budget_counters_stay_busy(setup: ChatSetup, busy_counters: StrictControl) -> None:
    answer = setup.chat({"message": "¿Cuánto tarda el envío?"})

    assert answer.status == 200, answer.text
    assert answer.json["handoff"] is True and answer.json["handoff_reason"] == "upstream_error"
    assert answer.json["handoff_detail"] == "budget_contended" and answer.json["cost_usd"] == "0.000000"
    assert setup.chat_requests() == [], "nothing was reserved, so the provider is never called"


def test_openai_route_answers_503_when_the_budget_counters_stay_busy(
    setup: ChatSetup, busy_counters: StrictControl
) -> None:
    answer = setup.completions({"model": "bot:shop", "messages": [{"role": "user", "content": "Hola"}]})

    assert answer.status == 503, answer.text
    assert answer.error["code"] == "budget_contended"
