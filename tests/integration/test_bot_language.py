"""A bot's `language` picks the texts it answers with itself when its admin wrote none."""

from __future__ import annotations

import pytest

from devtools.fake_openai import FakeOpenAI
from tests.support import TenantHandle, chat_setup


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        (None, "I'm passing you to a person on our team."),
        ("es", "Te comunico con una persona de nuestro equipo."),
        ("pt", "Vou transferir você para uma pessoa da nossa equipe."),
    ],
)
def test_a_handoff_answers_in_the_bots_language(
    tenant: TenantHandle, upstream: FakeOpenAI, language: str | None, expected: str
) -> None:
    settings = {"handoff": {"keywords": ["human agent"]}} | ({"language": language} if language else {})
    setup = chat_setup(tenant, upstream, **settings)
    assert tenant.call("GET", "/v1/bots/shop").json["language"] == (language or "en")
    answer = setup.chat({"message": "I want a human agent"})
    assert answer.status == 200, answer.text
    assert answer.json["handoff_reason"] == "keyword" and answer.json["reply"] == expected


def test_a_text_the_admin_wrote_wins_over_the_language(tenant: TenantHandle, upstream: FakeOpenAI) -> None:
    setup = chat_setup(tenant, upstream, language="pt", enabled=False, handoff={"message": "Um momento."})
    answer = setup.chat({"message": "oi"})
    assert answer.status == 200 and answer.json["reply"] == "Um momento.", answer.text
    assert answer.json["handoff_reason"] == "bot_disabled"


def test_a_language_change_applies_to_the_default_texts(tenant: TenantHandle, upstream: FakeOpenAI) -> None:
    setup = chat_setup(tenant, upstream, enabled=False)
    assert setup.chat({"message": "hi"}).json["reply"] == "I'm passing you to a person on our team."
    assert tenant.call("PATCH", "/v1/bots/shop", json_body={"version": 1, "language": "es"}).status == 200
    assert setup.chat({"message": "hola"}).json["reply"] == "Te comunico con una persona de nuestro equipo."


def test_an_unknown_language_is_a_400_naming_it(tenant: TenantHandle) -> None:
    answer = tenant.call("POST", "/v1/bots", json_body={"id": "shop", "language": "klingon"})
    assert answer.status == 400 and answer.error["param"] == "language", answer.text
