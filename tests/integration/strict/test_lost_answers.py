"""A turn's transaction that landed although its answer never arrived: found by reading, answered as stored.

The turn's messages and its settlement are one transaction, and the settlement consumes the reservation, so the
reservation's status says whether all of it landed. Before this was read back, such a turn answered a handoff
(webhook) or a 503 (OpenAI route) without saying what it cost, although it was stored and billed: the client
retried and paid again, and the spend on the counters exceeded what the answers reported.
"""

from __future__ import annotations

import uuid

import pytest

from devtools.fake_openai import FakeOpenAI
from devtools.strict_dynamodb import StrictControl
from tests.chaos_support import micros
from tests.support import ApiClient, ChatSetup, chat_setup, create_tenant

pytestmark = pytest.mark.serial  # concurrent or timed: run alone (see the Makefile's test target)


@pytest.fixture
def setup(strict_api: ApiClient, root_key: str, upstream: FakeOpenAI) -> ChatSetup:
    return chat_setup(create_tenant(strict_api, root_key), upstream)


def _lose_the_turns_answer(control: StrictControl, conversation: str, tenant_id: str) -> None:
    control.fault("TransactWriteItems", "lost", key=conversation, count=1)  # lands; the connection closes
    control.fault("TransactWriteItems", "error", key=conversation, count=10)  # botocore's retries of it fail
    control.fault("GetItem", "error", key=f"RESV#{tenant_id}#", count=3)  # and so does the first read-back


def _stored_user_texts(setup: ChatSetup, conversation: str) -> list[str]:
    stored = setup.tenant.call("GET", f"/v1/bots/shop/conversations/{conversation}", key=setup.key)
    assert stored.status == 200, stored.text
    return [m["content"] for m in stored.json["messages"] if m["role"] == "user"]


def _spend(setup: ChatSetup) -> int:
    return int(setup.tenant.call("GET", "/v1/usage").json["spend_micros"])


def test_webhook_turn_whose_answer_was_lost_is_answered_once_stored_and_billed(
    setup: ChatSetup, control: StrictControl
) -> None:
    conversation = f"lost-{uuid.uuid4().hex[:8]}"
    warm = setup.chat({"message": "hola", "conversation_id": conversation})  # caches tenant, bot and key
    assert warm.status == 200, warm.text

    _lose_the_turns_answer(control, conversation, setup.tenant.id)
    answer = setup.chat({"message": "¿y el envío?", "conversation_id": conversation})
    fired = control.counts()
    control.faults()

    assert fired.get("faults.lost") == 1, fired
    assert answer.status == 200, answer.text
    assert answer.json["handoff"] is False, answer.json  # stored and billed: the model's answer, not a handoff
    assert _stored_user_texts(setup, conversation) == ["hola", "¿y el envío?"]
    assert (
        _spend(setup) == micros(warm.json["cost_usd"]) + micros(answer.json["cost_usd"]) > micros(warm.json["cost_usd"])
    )


def test_openai_route_turn_whose_answer_was_lost_is_answered_200(setup: ChatSetup, control: StrictControl) -> None:
    conversation = f"lost-{uuid.uuid4().hex[:8]}"
    body = {"model": "bot:shop", "messages": [{"role": "user", "content": "hola"}], "conversation_id": conversation}
    warm = setup.completions(body)
    assert warm.status == 200, warm.text
    spent_before = _spend(setup)

    _lose_the_turns_answer(control, conversation, setup.tenant.id)
    again = {**body, "messages": [{"role": "user", "content": "¿y el envío?"}]}
    answer = setup.completions(again)
    control.faults()

    assert answer.status == 200, answer.text
    assert _stored_user_texts(setup, conversation) == ["hola", "¿y el envío?"]
    stored = setup.tenant.call("GET", f"/v1/bots/shop/conversations/{conversation}", key=setup.key).json
    reply = stored["messages"][-1]
    assert reply["role"] == "assistant", reply
    assert _spend(setup) - spent_before == int(reply["turn"]["cost_micros"]) > 0  # billed once


def test_a_key_whose_write_answer_was_lost_is_issued_once(
    strict_api: ApiClient, root_key: str, control: StrictControl
) -> None:
    """POST /v1/keys used to fail its own `attribute_not_exists` when the SDK retried a write that had landed."""
    tenant = create_tenant(strict_api, root_key)
    before = tenant.call("GET", "/v1/keys").json["data"]
    control.fault("TransactWriteItems", "lost", key=f'"TENANT#{tenant.id}"', count=1)
    created = tenant.call("POST", "/v1/keys", json_body={"label": "zapier", "scopes": ["chat"]})
    fired = control.counts()
    control.faults()

    assert fired.get("faults.lost") == 1, fired
    assert created.status == 201, created.text
    after = tenant.call("GET", "/v1/keys").json["data"]
    assert len(after) == len(before) + 1, after
    assert tenant.call("GET", "/v1/models", key=created.json["key"]).status == 200  # the key it answered works


def test_a_turn_that_cannot_tell_whether_it_was_billed_says_so(
    strict_api: ApiClient, root_key: str, upstream: FakeOpenAI, control: StrictControl
) -> None:
    """The turn's transaction lands but its answer is lost, the read-back fails, and settling alone keeps failing:
    the call may well be billed (here it is), so a handoff that said `cost_usd: 0` was wrong, and is now marked."""
    setup = chat_setup(create_tenant(strict_api, root_key), upstream, deadline_seconds=3)
    conversation = f"unresolved-{uuid.uuid4().hex[:8]}"
    warm = setup.chat({"message": "hola", "conversation_id": conversation})
    assert warm.status == 200, warm.text
    spent_before = _spend(setup)

    day_report = f'"TENANT#{setup.tenant.id}"'  # in the turn's transaction and a settlement, not in a reserve
    control.fault("TransactWriteItems", "lost", key=conversation, count=1)  # the turn lands; its answer is lost
    control.fault("TransactWriteItems", "error", key=day_report)  # the SDK's retries, and every settle alone
    control.fault("GetItem", "error", key=f"RESV#{setup.tenant.id}#")  # no read-back either
    answer = setup.chat({"message": "¿y el envío?", "conversation_id": conversation})
    control.faults()

    assert answer.status == 200, answer.text
    assert answer.json["handoff"] is True and answer.json["handoff_reason"] == "store_unavailable", answer.json
    assert answer.json.get("billing_unresolved") is True, answer.json
    # What landed is the truth the record keeps: the turn once, billed once at the cost its record shows.
    assert _stored_user_texts(setup, conversation) == ["hola", "¿y el envío?"]
    stored = setup.tenant.call("GET", f"/v1/bots/shop/conversations/{conversation}", key=setup.key).json
    assert _spend(setup) - spent_before == int(stored["messages"][-1]["turn"]["cost_micros"]) > 0
