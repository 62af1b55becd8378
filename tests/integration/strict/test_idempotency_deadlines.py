"""Idempotency records against a slow or failing DynamoDB: bounded by the turn's deadline, never losing an answer."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

from devtools.fake_openai import FakeOpenAI
from devtools.strict_dynamodb import StrictControl
from tests.support import ApiClient, ChatSetup, chat_setup, create_tenant

pytestmark = pytest.mark.serial  # timed against a deadline: run alone (see the Makefile's test target)

BOT_DEADLINE = 3.0
SLOW_MS = 4500  # slower than the deadline and its second: a client that waits for it has lost the turn
IDEMPOTENCY = '"IDEMPOTENCY#'  # the idempotency records' partition key, as the fault plan matches it


@pytest.fixture
def slow_setup(strict_api: ApiClient, root_key: str, upstream: FakeOpenAI) -> ChatSetup:
    tenant = create_tenant(strict_api, root_key)
    return chat_setup(tenant, upstream, deadline_seconds=BOT_DEADLINE)


def _timed(call: Any) -> tuple[Any, float]:
    started = time.monotonic()
    answer = call()
    return answer, time.monotonic() - started


def _key() -> dict[str, str]:
    return {"Idempotency-Key": f"k-{uuid.uuid4().hex}"}


def _stored_user_texts(setup: ChatSetup, conversation: str) -> list[str]:
    stored = setup.tenant.call("GET", f"/v1/bots/shop/conversations/{conversation}", key=setup.key)
    assert stored.status == 200, stored.text
    return [m["content"] for m in stored.json["messages"] if m["role"] == "user"]


def test_a_webhook_turn_whose_idempotency_record_is_slow_hands_off_within_the_bots_deadline(
    slow_setup: ChatSetup, control: StrictControl
) -> None:
    conversation = f"c-{uuid.uuid4().hex[:8]}"
    warm = slow_setup.chat({"message": "hola", "conversation_id": conversation}, headers=_key())
    assert warm.status == 200, warm.text
    paid_before = len(slow_setup.chat_requests())

    control.fault("PutItem", "latency", latency_ms=SLOW_MS, key=IDEMPOTENCY)
    body = {"message": "¿y el envío?", "conversation_id": conversation}
    answer, elapsed = _timed(lambda: slow_setup.chat(body, headers=_key()))
    control.faults()

    assert elapsed < BOT_DEADLINE + 1, f"the webhook answered after {elapsed:.2f} s"
    assert answer.status == 200, answer.text
    assert answer.json["handoff"] is True and answer.json["handoff_reason"] == "store_unavailable", answer.text
    assert len(slow_setup.chat_requests()) == paid_before, "nothing is paid for a turn that could not be recorded"


def test_a_completion_whose_idempotency_record_cannot_be_written_answers_503_within_the_deadline(
    slow_setup: ChatSetup, control: StrictControl
) -> None:
    body = {"model": "bot:shop", "messages": [{"role": "user", "content": "hola"}]}
    warm = slow_setup.completions(body, headers=_key())
    assert warm.status == 200, warm.text

    control.fault("PutItem", "latency", latency_ms=SLOW_MS, key=IDEMPOTENCY)
    answer, elapsed = _timed(lambda: slow_setup.completions(body, headers=_key()))
    control.faults()

    assert elapsed < BOT_DEADLINE + 1, f"the completion answered after {elapsed:.2f} s"
    assert answer.status == 503, answer.text
    assert answer.error["code"] in ("store_unavailable", "deadline_exceeded"), answer.text


def test_an_answered_turn_whose_success_record_fails_still_gets_its_answer_once(
    slow_setup: ChatSetup, control: StrictControl
) -> None:
    conversation = f"c-{uuid.uuid4().hex[:8]}"
    warm = slow_setup.chat({"message": "hola", "conversation_id": conversation}, headers=_key())
    assert warm.status == 200, warm.text
    paid_before = len(slow_setup.chat_requests())

    # Recording the answer (Powertools updates the in-progress record) is slow, then refused.
    control.fault("UpdateItem", "latency", latency_ms=SLOW_MS, key=IDEMPOTENCY)
    body = {"message": "¿tienen talla M?", "conversation_id": conversation}
    answer, elapsed = _timed(lambda: slow_setup.chat(body, headers=_key()))
    control.faults()

    assert elapsed < BOT_DEADLINE + 1, f"the webhook answered after {elapsed:.2f} s"
    assert answer.status == 200, answer.text
    assert answer.json["handoff"] is False and answer.json["reply"], "the paid answer reaches the caller"
    assert len(slow_setup.chat_requests()) == paid_before + 1
    assert _stored_user_texts(slow_setup, conversation).count("¿tienen talla M?") == 1


def test_a_record_whose_write_landed_but_whose_answer_was_lost_is_not_taken_for_another_request(
    slow_setup: ChatSetup, control: StrictControl
) -> None:
    conversation = f"c-{uuid.uuid4().hex[:8]}"
    control.fault("PutItem", "lost", key=IDEMPOTENCY, count=1)  # botocore retries the put: the record is there
    answer = slow_setup.chat({"message": "hola", "conversation_id": conversation}, headers=_key())
    control.faults()

    assert answer.status == 200, answer.text
    assert answer.json["handoff"] is False and answer.json["reply"], answer.text
    assert _stored_user_texts(slow_setup, conversation) == ["hola"]
