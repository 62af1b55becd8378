"""Pure parsing of webhook values: form fields, attachments, chat platforms' payloads, loose spellings."""

from __future__ import annotations

import pytest

from atende.models.webhook_inputs import attachment_value, chat_platform_fields, decimal_comma, lower_word
from atende.platform.errors import InvalidRequest
from atende.store.conversations import conversation_pk
from atende.web.bodies import form_fields, media_type


def test_a_repeated_form_field_is_the_list_of_its_values() -> None:
    assert form_fields("prompts=a&prompts=b&message=hola+t%C3%BA&empty=") == {
        "prompts": ["a", "b"],
        "message": "hola tú",
        "empty": "",
    }


def test_a_form_that_is_not_utf8_is_refused_naming_the_body() -> None:
    with pytest.raises(InvalidRequest) as refused:
        form_fields("message=%FF%FE")
    assert refused.value.param == "body"


def test_media_types_are_compared_lower_case_without_parameters() -> None:
    assert media_type("Application/JSON; charset=UTF-8") == "application/json"
    assert media_type(None) == ""


@pytest.mark.parametrize(
    ("sent", "read"),
    [
        ("image/jpeg:https://x.test/a.jpg", {"content_type": "image/jpeg", "url": "https://x.test/a.jpg"}),
        ("https://x.test/b.png?sig=1", {"content_type": "image/png", "url": "https://x.test/b.png?sig=1"}),
        (
            {"content_type": "audio/ogg", "url": "https://x.test/v.oga"},
            {"content_type": "audio/ogg", "url": "https://x.test/v.oga"},
        ),
    ],
)
def test_attachments_are_read_in_each_platform_form(sent: object, read: dict) -> None:
    assert attachment_value(sent) == read


def test_the_contacts_urn_is_the_conversation_and_explicit_fields_win() -> None:
    body = {"contact": {"uuid": "u-1", "urn": "tel:+1"}, "input": {"text": "hola", "attachments": []}}
    assert chat_platform_fields(body)["conversation_id"] == "tel:+1"
    assert chat_platform_fields(body)["message"] == "hola"
    assert chat_platform_fields({**body, "conversation_id": "c", "message": "m"})["conversation_id"] == "c"


def test_loose_spellings() -> None:
    assert decimal_comma("0,7") == "0.7" and decimal_comma("1,000,000") == "1,000,000" and decimal_comma(0.5) == 0.5
    assert lower_word(" Json ") == "json" and lower_word('{"type": "object"}') == '{"type": "object"}'


@pytest.mark.parametrize("conversation_id", ["a#b", "#", "b#c#d"])
def test_a_hash_in_a_conversation_id_never_aliases_another_key(conversation_id: str) -> None:
    # tenant and bot ids are slugs (no '#'), so the first two separators are always theirs
    prefix, tenant, bot, rest = conversation_pk("t", "b", conversation_id).split("#", 3)
    assert (prefix, tenant, bot, rest) == ("CONV", "t", "b", conversation_id)
