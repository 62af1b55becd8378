"""Accent- and case-insensitive text matching shared by handoff keywords and instant answers."""

from __future__ import annotations

import re
import unicodedata

_WORD = re.compile(r"[a-z0-9ñ]+")
STOPWORDS = frozenset(
    (
        "a al o e y u de del la las el los lo un una unos unas en con por para que se su sus mi me te "
        "es son the of to and or in on for is are my your do does can i you it be what how as at an o "
        "os as um uma do da dos das no na nos nas com pelo pela para que e é meu minha"
    ).split()
)


def normalize(text: str) -> str:
    """Lower case, accents removed (ñ kept), punctuation folded to spaces."""
    decomposed = unicodedata.normalize("NFKD", text.casefold().replace("ñ", "\0"))
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).replace("\0", "ñ")
    return " ".join(_WORD.findall(plain))


def content_words(text: str) -> set[str]:
    return {word for word in normalize(text).split() if word not in STOPWORDS}


def contains_phrase(text: str, phrase: str) -> bool:
    """Whole-word phrase containment after normalization ("agente humano" in "Quiero un agente humano!")."""
    needle = normalize(phrase)
    return bool(needle) and f" {needle} " in f" {normalize(text)} "
