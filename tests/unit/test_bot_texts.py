"""The default texts of each bot language: every text in every language, the admin's own text first."""

from __future__ import annotations

from typing import get_args

from atende.chat.texts import TEXTS, handoff_text, limit_text, refusal_text
from atende.models.bots import Bot, Language

BOT = {"id": "b", "version": 1, "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"}


def test_every_language_has_its_own_text_for_each_answer() -> None:
    assert set(TEXTS) == set(get_args(Language))
    for field in ("handoff", "refusal", "attachment", "limit"):
        texts = [getattr(TEXTS[language], field) for language in TEXTS]
        assert all(texts) and len(set(texts)) == len(texts), field


def test_refusal_and_limit_texts_follow_the_language_unless_the_admin_set_them() -> None:
    bot = Bot.model_validate({**BOT, "language": "pt"})
    assert refusal_text(bot) == "Desculpe, não posso ajudar com isso."
    assert limit_text(bot) == TEXTS["pt"].limit and handoff_text(bot) == TEXTS["pt"].handoff
    own = Bot.model_validate({**BOT, "moderation": {"refusal_message": "No."}, "handoff": {"limit_message": "Later."}})
    assert refusal_text(own) == "No." and limit_text(own) == "Later."
    assert Bot.model_validate(BOT).language == "en"
