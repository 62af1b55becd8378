"""Deterministic omni-moderation scores of the fake OpenAI upstream, from keyword lists in en, es and pt."""

from __future__ import annotations

import hashlib
import re
from typing import Any

from devtools.fake_openai.answers import words

CATEGORIES = (
    "harassment",
    "harassment/threatening",
    "hate",
    "hate/threatening",
    "illicit",
    "illicit/violent",
    "self-harm",
    "self-harm/intent",
    "self-harm/instructions",
    "sexual",
    "sexual/minors",
    "violence",
    "violence/graphic",
)
# Categories OpenAI also scores on images; the others apply to text only.
IMAGE_CATEGORIES = frozenset(
    {"self-harm", "self-harm/intent", "self-harm/instructions", "sexual", "violence", "violence/graphic"}
)
FLAG_AT = 0.5

_SELF_HARM = (
    "suicid*",
    "kill myself",
    "end my life",
    "want to die",
    "me quiero morir",
    "quiero morirme",
    "matarme",
    "quero morrer",
    "me matar",
    "acabar con mi vida",
    "acabar com a minha vida",
    "self harm",
    "autolesion*",
    "cortarme",
)
_THREATS = (
    "i will kill you",
    "i am going to hurt you",
    "te voy a matar",
    "vou te matar",
    "vou te pegar",
    "te voy a encontrar",
)
# category -> (score when a keyword matches, keywords); `*` ends a prefix, text is matched accent- and case-free.
KEYWORDS: dict[str, tuple[float, tuple[str, ...]]] = {
    "harassment": (
        0.72,
        ("idiot*", "stupid", "moron", "loser", "estupid*", "imbecil*", "pendejo", "babaca", "otario", *_THREATS),
    ),
    "harassment/threatening": (0.78, _THREATS),
    "hate": (0.81, ("hate", "odio", "odeio", "racist*", "racista", "raza inferior", "raca inferior", "inferior race")),
    "hate/threatening": (0.7, ("extermin*", "genocid*", "ethnic cleansing", "limpieza etnica")),
    "illicit": (
        0.7,
        (
            "cocain*",
            "heroin*",
            "meth",
            "money laundering",
            "lavar dinero",
            "lavagem de dinheiro",
            "hackear",
            "steal",
            "robar",
            "roubar",
        ),
    ),
    "illicit/violent": (
        0.86,
        (
            "bomb",
            "bombs",
            "bomba",
            "bombas",
            "explosiv*",
            "molotov",
            "make a weapon",
            "fabricar un arma",
            "fabricar uma arma",
        ),
    ),
    "self-harm": (0.84, _SELF_HARM),
    "self-harm/intent": (0.8, _SELF_HARM),
    "self-harm/instructions": (
        0.72,
        ("how to kill myself", "como suicidarme", "como me matar", "how to commit suicide"),
    ),
    "sexual": (0.76, ("sex", "sexo", "sexual", "porn*", "nude*", "desnud*", "nudes", "pelada")),
    "violence": (
        0.86,
        (
            "kill*",
            "murder*",
            "stab",
            "stabbed",
            "stabbing",
            "shoot*",
            "matar*",
            "mato",
            "asesin*",
            "apunal*",
            "assassin*",
            "esfaque*",
            "atirar",
            *_THREATS,
        ),
    ),
    "violence/graphic": (0.74, ("gore", "decapit*", "dismember*", "desmembr*", "mutil*", "blood everywhere")),
}
_MINORS = re.compile(
    r"\b(child|children|kid|kids|minor|minors|nino|nina|ninos|menor|menores|crianca|criancas|menina|menino)\b"
)
_PATTERNS = {
    category: (weight, [re.compile(rf"\b{re.escape(k).replace(r'\*', '[a-z0-9]*')}\b") for k in keywords])
    for category, (weight, keywords) in KEYWORDS.items()
}


def _jitter(text: str, category: str) -> float:
    """A deterministic number in [0, 1) from the text and the category."""
    digest = hashlib.sha256(f"{category}\0{text}".encode()).digest()
    return int.from_bytes(digest[:4], "big") / 2**32


def scores(text: str) -> dict[str, float]:
    """Scores for every category: high where a keyword matches, below 0.01 (still text-dependent) elsewhere."""
    plain = " ".join(words(text))
    out = {}
    for category in CATEGORIES:
        weight, patterns = _PATTERNS.get(category, (0.0, []))
        hits = sum(1 for p in patterns if p.search(plain))
        jitter = _jitter(plain, category)
        if (
            category == "sexual/minors"
            and _MINORS.search(plain)
            and any(p.search(plain) for p in _PATTERNS["sexual"][1])
        ):
            hits, weight = 1, 0.9
        out[category] = round(
            min(0.999, weight + 0.04 * (hits - 1) + 0.01 * jitter) if hits else 0.0001 + 0.0098 * jitter, 6
        )
    return out


def result(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """One moderation result for one input: a list of text / image_url parts."""
    text = "\n".join(str(p.get("text") or "") for p in parts if p.get("type") == "text")
    has_text = any(p.get("type") == "text" for p in parts)
    has_image = any(p.get("type") == "image_url" for p in parts)
    category_scores = scores(text)
    applied = {
        c: (["text"] if has_text else []) + (["image"] if has_image and c in IMAGE_CATEGORIES else [])
        for c in CATEGORIES
    }
    categories = {c: s >= FLAG_AT for c, s in category_scores.items()}
    return {
        "flagged": any(categories.values()),
        "categories": categories,
        "category_scores": category_scores,
        "category_applied_input_types": applied,
    }


def inputs(value: Any) -> list[list[dict[str, Any]]] | None:
    """The moderation inputs of a request's `input`: a string, a list of strings, or one multimodal part list."""
    if isinstance(value, str):
        return [[{"type": "text", "text": value}]]
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return [[{"type": "text", "text": v}] for v in value]
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        return [value]
    return None
