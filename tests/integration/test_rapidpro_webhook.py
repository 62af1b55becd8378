"""RapidPro/Weni's "Call Webhook" default body, sent unedited, and the loose spellings of no-code tools' forms.

The body is what goflow's default webhook template renders (`@(json(object("contact", object("uuid", contact.uuid,
"name", contact.name, "urn", contact.urn), "flow", run.flow, "path", run.path, "results", …, "run", object("uuid",
run.uuid, "created_on", run.created_on), "input", object("attachments", …, "channel", input.channel, "created_on",
…, "text", input.text, "type", input.type, "urn", object("display", …, "path", …, "scheme", …), "uuid", …),
"channel", default(input.channel, null))))`), with the example values of goflow's own documentation.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.support import ChatSetup

CHANNEL = {"address": "+12345671111", "name": "My Android Phone", "uuid": "57f1078f-88aa-46f4-a59a-948a5739c03d"}
RAPIDPRO_BODY: dict[str, Any] = {
    "contact": {"uuid": "5d76d86b-3bb9-4d5a-b822-c9d86f5d8e4f", "name": "Ryan Lewis", "urn": "tel:+12065551212"},
    "flow": {"name": "Registration", "revision": 123, "uuid": "50c3706e-fedb-42c0-8eab-dda3335714b7"},
    "path": [
        {
            "arrived_on": "2017-12-31T11:35:10.035757-02:00",
            "exit_uuid": "d7a36118-0a38-4b35-a7e4-ae89042f0d3c",
            "node_uuid": "72a1f5df-49f9-45df-94c9-d86f7ea064e5",
            "uuid": "692926ea-09d6-4942-bd38-d266ec8d3716",
        }
    ],
    "results": {
        "favorite_color": {
            "category": "Red",
            "category_localized": "Red",
            "created_on": "2017-12-31T11:35:10.035757-02:00",
            "input": "",
            "name": "Favorite Color",
            "node_uuid": "f5bb9b7a-7b5e-45c3-8f0e-61b4e95edf03",
            "value": "red",
        }
    },
    "run": {"uuid": "692926ea-09d6-4942-bd38-d266ec8d3716", "created_on": "2017-12-31T11:35:10.035757-02:00"},
    "input": {
        "attachments": [
            {"content_type": "image/jpeg", "url": "http://s3.amazon.com/bucket/test.jpg"},
            {"content_type": "audio/mp3", "url": "http://s3.amazon.com/bucket/test.mp3"},
        ],
        "channel": CHANNEL,
        "created_on": "2017-12-31T11:35:10.035757-02:00",
        "text": "Hi there",
        "type": "msg",
        "urn": {"display": "(206) 555-1212", "path": "+12065551212", "scheme": "tel"},
        "uuid": "9bf91c2b-ce58-4cef-aacc-281e03f69ab5",
    },
    "channel": CHANNEL,
}


def _body(**input_fields: Any) -> dict[str, Any]:
    body = copy.deepcopy(RAPIDPRO_BODY)
    body["input"].update(input_fields)
    return body


def _sent_user_content(setup: ChatSetup) -> Any:
    return setup.chat_requests()[-1].json["messages"][-1]["content"]


def test_the_default_body_is_a_turn_in_the_contacts_conversation(setup: ChatSetup) -> None:
    answer = setup.chat(_body(attachments=[]))
    assert answer.status == 200, answer.text
    assert answer.json["reply"] and answer.json["conversation_id"] == "tel:+12065551212"
    assert _sent_user_content(setup) == "Hi there"
    again = setup.chat(_body(attachments=[], text="¿y los envíos?"))
    history = setup.chat_requests()[-1].json["messages"]
    assert again.status == 200 and [m["content"] for m in history if m["role"] == "user"][-2:] == [
        "Hi there",
        "¿y los envíos?",
    ]


def test_images_are_shown_to_the_model_and_other_files_named_to_it(setup: ChatSetup) -> None:
    answer = setup.chat(_body())
    assert answer.status == 200, answer.text
    parts = _sent_user_content(setup)
    assert parts[0] == {"type": "text", "text": "Hi there"}
    assert parts[1] == {"type": "image_url", "image_url": {"url": "http://s3.amazon.com/bucket/test.jpg"}}
    assert parts[2]["type"] == "text" and "audio/mp3" in parts[2]["text"] and "cannot open" in parts[2]["text"]


def test_an_image_with_no_text_is_answered(setup: ChatSetup) -> None:
    answer = setup.chat(_body(text="", attachments=[RAPIDPRO_BODY["input"]["attachments"][0]]))
    assert answer.status == 200, answer.text
    assert _sent_user_content(setup) == [
        {"type": "image_url", "image_url": {"url": "http://s3.amazon.com/bucket/test.jpg"}}
    ]
    assert answer.json["reply"]


def test_an_audio_with_no_text_is_named_to_the_model(setup: ChatSetup) -> None:
    answer = setup.chat(_body(text="", attachments=["audio/ogg:https://example.com/voice.oga"]))
    assert answer.status == 200, answer.text
    [part] = _sent_user_content(setup)
    assert "audio/ogg" in part["text"] and "https://example.com/voice.oga" in part["text"]


def test_without_a_urn_the_contacts_uuid_is_the_conversation(setup: ChatSetup) -> None:
    body = _body(attachments=[])
    del body["contact"]["urn"]
    assert setup.chat(body).json["conversation_id"] == "5d76d86b-3bb9-4d5a-b822-c9d86f5d8e4f"


def test_explicit_fields_win_over_the_platforms(setup: ChatSetup) -> None:
    answer = setup.chat({**_body(attachments=[]), "message": "otra cosa", "conversation_id": "c-explicit"})
    assert answer.json["conversation_id"] == "c-explicit" and _sent_user_content(setup) == "otra cosa"


def test_no_text_and_no_attachments_is_a_400_naming_message(setup: ChatSetup) -> None:
    answer = setup.chat(_body(text="", attachments=[]))
    assert answer.status == 400 and answer.error["param"] == "message"
    assert not setup.chat_requests()


@pytest.mark.parametrize("attachment", ["ftp://example.com/x.jpg", {"content_type": "image/png"}])
def test_an_attachment_without_a_web_url_is_a_400_naming_it(setup: ChatSetup, attachment: Any) -> None:
    answer = setup.chat({"message": "mira", "attachments": [attachment]})
    assert answer.status == 400 and answer.error["param"].startswith("attachments")


# --- the loose spellings of no-code tools' forms ---------------------------------------------------------------------
@pytest.mark.parametrize(("spelled", "sent"), [("Json", {"type": "json_object"}), ("TEXT", None), ("Text", None)])
def test_response_format_words_are_case_insensitive(setup: ChatSetup, spelled: str, sent: Any) -> None:
    answer = setup.chat({"message": "responde en JSON", "response_format": spelled})
    assert answer.status == 200, answer.text
    assert setup.chat_requests()[-1].json.get("response_format") == sent


@pytest.mark.parametrize(
    ("field", "spelled", "value"),
    [("temperature", "0,7", 0.7), ("top_p", "0,95", 0.95), ("presence_penalty", "-0,5", -0.5)],
)
def test_numbers_with_a_decimal_comma_are_read(setup: ChatSetup, field: str, spelled: str, value: float) -> None:
    answer = setup.chat({"message": "hola", field: spelled})
    assert answer.status == 200, answer.text
    assert setup.chat_requests()[-1].json[field] == value


def test_a_decimal_comma_out_of_range_is_still_refused_naming_the_field(setup: ChatSetup) -> None:
    answer = setup.chat({"message": "hola", "temperature": "2,5"})
    assert answer.status == 400 and answer.error["param"] == "temperature"
