"""The texts a bot answers with itself when its admin set none, one table per language."""

from __future__ import annotations

from dataclasses import dataclass

from atende.models.bots import Bot, Language


@dataclass(frozen=True)
class BotTexts:
    handoff: str  # a turn handed to a person (keyword, sentinel, tool, disabled bot, upstream failure)
    refusal: str  # a text refused by moderation
    attachment: str  # a message that carried only attachments the bot cannot read
    limit: str  # the tenant is over a budget or quota, or suspended, and the webhook answers a handoff


TEXTS: dict[Language, BotTexts] = {
    "en": BotTexts(
        handoff="I'm passing you to a person on our team.",
        refusal="Sorry, I can't help with that.",
        attachment="I can only read text messages. Could you write your question?",
        limit="Our assistant is not available right now. A person on our team will get back to you.",
    ),
    "es": BotTexts(
        handoff="Te comunico con una persona de nuestro equipo.",
        refusal="Lo siento, no puedo ayudar con eso.",
        attachment="Solo puedo leer mensajes de texto. ¿Puedes escribir tu consulta?",
        limit="Nuestro asistente no está disponible en este momento. Una persona de nuestro equipo te responderá.",
    ),
    "pt": BotTexts(
        handoff="Vou transferir você para uma pessoa da nossa equipe.",
        refusal="Desculpe, não posso ajudar com isso.",
        attachment="Só consigo ler mensagens de texto. Você pode escrever a sua pergunta?",
        limit="Nosso assistente não está disponível no momento. Uma pessoa da nossa equipe vai responder você.",
    ),
}


def texts_for(language: Language) -> BotTexts:
    """The default texts of `language`."""
    return TEXTS[language]


def handoff_text(bot: Bot) -> str:
    return bot.handoff.message or TEXTS[bot.language].handoff


def refusal_text(bot: Bot) -> str:
    return bot.moderation.refusal_message or TEXTS[bot.language].refusal


def limit_text(bot: Bot) -> str:
    return bot.handoff.limit_message or TEXTS[bot.language].limit


def attachment_text(bot: Bot) -> str:
    return TEXTS[bot.language].attachment
