"""Conversation ids as chat platforms name them: phone numbers, negative chat ids, names; percent-encoded in paths."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from tests.support import ChatSetup

IDS = ["+5491100000000", "-1001234567890", "María José", "tel:+12065551212", "a#b", "a/b", "100% real?", "x" * 128]


def _stored(setup: ChatSetup, conversation_id: str) -> list[dict]:
    answer = setup.tenant.api.call(
        "GET", f"/v1/bots/shop/conversations/{quote(conversation_id, safe='')}", key=setup.key
    )
    assert answer.status == 200, answer.text
    return answer.json["messages"]


def test_printable_ids_each_keep_their_own_history(setup: ChatSetup) -> None:
    for conversation_id in IDS:
        answer = setup.chat({"message": f"soy {conversation_id}", "conversation_id": conversation_id})
        assert answer.status == 200, answer.text
        assert answer.json["conversation_id"] == conversation_id
    for conversation_id in IDS:  # "a#b" and "a", "a/b" and "a": no id aliases another in the table's keys
        users = [m["content"] for m in _stored(setup, conversation_id) if m["role"] == "user"]
        assert users == [f"soy {conversation_id}"]


def test_a_conversation_id_with_a_plus_is_erased_through_its_encoded_path(setup: ChatSetup) -> None:
    assert setup.chat({"message": "hola", "conversation_id": "+5491100000000"}).status == 200
    path = f"/v1/bots/shop/conversations/{quote('+5491100000000', safe='')}"
    assert setup.tenant.api.call("DELETE", path, key=setup.key).status == 200
    assert setup.tenant.api.call("GET", path, key=setup.key).status == 404


def test_surrounding_spaces_are_trimmed(setup: ChatSetup) -> None:
    assert setup.chat({"message": "hola", "conversation_id": "  María José "}).json["conversation_id"] == "María José"


@pytest.mark.parametrize("conversation_id", ["x" * 129, "línea\nnueva", "tab\there", "nul\x00", "zero\u200bwidth"])
def test_ids_that_are_not_printable_text_up_to_128_characters_are_refused(
    setup: ChatSetup, conversation_id: str
) -> None:
    answer = setup.chat({"message": "hola", "conversation_id": conversation_id})
    assert answer.status == 400, answer.text
    assert answer.error["param"] == "conversation_id"
    assert not setup.chat_requests()


@pytest.mark.parametrize("segment", [quote("x" * 129), "l%C3%ADnea%0Anueva", "%FF%FE"])
def test_a_path_id_that_decodes_to_no_valid_id_is_a_400(setup: ChatSetup, segment: str) -> None:
    answer = setup.tenant.api.call("GET", f"/v1/bots/shop/conversations/{segment}", key=setup.key)
    assert answer.status == 400, answer.text
    assert answer.error["param"] == "conversation"
