"""Turns against a slow DynamoDB: every AWS call is bounded by what is left of the turn's deadline."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

from devtools.aws_local import EmbeddedAWS
from devtools.fake_openai import FakeOpenAI
from devtools.strict_dynamodb import StrictControl
from tests.support import ApiClient, ChatSetup, chat_setup, create_tenant

pytestmark = pytest.mark.serial  # concurrent or timed: run alone (see the Makefile's test target)

BOT_DEADLINE = 3.0
SLOW_MS = 6000  # slower than any deadline: a client that waits for it has lost the turn


@pytest.fixture
def slow_setup(strict_api: ApiClient, root_key: str, upstream: FakeOpenAI) -> ChatSetup:
    tenant = create_tenant(strict_api, root_key)
    return chat_setup(tenant, upstream, deadline_seconds=BOT_DEADLINE)


def _slow_table(control: StrictControl) -> None:
    for operation in ("GetItem", "Query", "TransactWriteItems"):
        control.fault(operation, "latency", latency_ms=SLOW_MS)


def _timed(call: Any) -> tuple[Any, float]:
    started = time.monotonic()
    answer = call()
    return answer, time.monotonic() - started


def test_webhook_turn_hands_off_within_its_deadline_when_dynamodb_is_slow(
    slow_setup: ChatSetup, control: StrictControl, strict_aws: EmbeddedAWS
) -> None:
    conversation = f"c-{uuid.uuid4().hex[:8]}"
    warm = slow_setup.chat({"message": "hola", "conversation_id": conversation})  # caches tenant, bot and key
    assert warm.status == 200, warm.text

    _slow_table(control)
    answer, elapsed = _timed(lambda: slow_setup.chat({"message": "¿y el envío?", "conversation_id": conversation}))

    assert elapsed < BOT_DEADLINE + 1, f"the webhook answered after {elapsed:.2f} s"
    assert answer.status == 200, answer.text
    assert answer.json["handoff"] is True
    assert answer.json["handoff_reason"] == "store_unavailable"

    control.faults()
    time.sleep(SLOW_MS / 1000 + 0.5)  # requests the server still holds land now: none may land twice
    stored = slow_setup.tenant.call("GET", f"/v1/bots/shop/conversations/{conversation}", key=slow_setup.key)
    texts = [m["content"] for m in stored.json["messages"] if m["role"] == "user"]
    assert texts.count("hola") == 1
    assert texts.count("¿y el envío?") <= 1, texts


def test_openai_route_answers_503_or_504_within_the_deadline_when_dynamodb_is_slow(
    slow_setup: ChatSetup, control: StrictControl
) -> None:
    warm = slow_setup.completions({"model": "bot:shop", "messages": [{"role": "user", "content": "hola"}]})
    assert warm.status == 200, warm.text

    _slow_table(control)
    body = {"model": "bot:shop", "messages": [{"role": "user", "content": "hola"}], "conversation_id": "slow-1"}
    answer, elapsed = _timed(lambda: slow_setup.completions(body))

    assert elapsed < BOT_DEADLINE + 1, f"the completion answered after {elapsed:.2f} s"
    assert answer.status in (503, 504), answer.text
    assert answer.error["code"] in ("store_unavailable", "deadline_exceeded")


def test_a_paid_call_whose_settlement_keeps_failing_answers_within_the_deadline(
    slow_setup: ChatSetup, control: StrictControl
) -> None:
    body = {"model": "bot:shop", "messages": [{"role": "user", "content": "hola"}]}  # no conversation: billed alone
    warm = slow_setup.completions(body)
    assert warm.status == 200, warm.text

    # Every settlement attempt (the only transaction with the tenant's own partition in it: its day report) is
    # slow, then refused.
    report = f'"TENANT#{slow_setup.tenant.id}"'
    control.fault("TransactWriteItems", "latency", latency_ms=400, key=report)
    control.fault("TransactWriteItems", "error", key=report)
    control.fault("GetItem", "latency", latency_ms=400, key=f"RESV#{slow_setup.tenant.id}#")  # reading it back too
    answer, elapsed = _timed(lambda: slow_setup.completions(body))
    control.faults()

    # Settling, reading back and settling again share one window past the deadline, not one each.
    assert elapsed < BOT_DEADLINE + 1, f"the completion answered after {elapsed:.2f} s"
    assert answer.status == 503, answer.text
    assert answer.error["code"] == "store_unavailable"
