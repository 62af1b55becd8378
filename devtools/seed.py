"""The demo tenant of the local stack: a Spanish-speaking clothing store with a bot, keys and a credential."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from atende.access.keys import Caller, Scope, display_prefix, hash_key
from atende.admin import credentials
from atende.models.bots import Bot, BotCreate
from atende.models.common import utc_now
from atende.models.credentials import CredentialPut
from atende.models.keys import KeyInfo
from atende.models.tenants import Tenant
from atende.store import stores
from atende.store.table import AuditEntry

LOCAL_KEY = re.compile(r"atd_[A-Za-z0-9_-]{32,256}")  # what the authorizer accepts as an Atende key
DEMO_TENANT = "demo"
DEMO_BOT = "demo"
# Local-only defaults, documented in the README. Never deploy them: the real root key lives in Secrets Manager.
DEFAULT_ROOT_KEY = "atd_local-root-key-for-development-only-0000"
DEFAULT_ADMIN_KEY = "atd_local-demo-admin-key-for-development-000"
DEFAULT_DEMO_KEY = "atd_local-demo-chat-key-for-development-0000"

RULES = """Eres "Lía", la asistente virtual de Moda Andina, una tienda online de ropa.
- Responde siempre en el idioma del cliente, con calidez y en frases cortas.
- Usa solo la información de la base de conocimiento; si no sabes algo, dilo y ofrece hablar con una persona.
- Nunca inventes precios, stock ni plazos.
- Si el cliente está molesto o pide hablar con una persona, responde solo con 😕."""

KNOWLEDGE_BASE = """Envíos: enviamos a todo el país. El envío estándar tarda de 3 a 5 días hábiles y cuesta $4.990; es gratis en compras desde $49.990. El envío express llega en 24 horas en la capital y cuesta $7.990.

Cambios y devoluciones: tienes 30 días desde que recibes el pedido para cambiar o devolver una prenda sin uso y con etiquetas. El primer cambio es gratis. El reembolso llega en 5 a 10 días hábiles al mismo medio de pago.

Tallas: trabajamos de la XS a la XXL. La guía de tallas está en cada producto; si dudas entre dos tallas, recomendamos la mayor en jeans y la menor en tejidos de punto.

Medios de pago: tarjetas de crédito y débito, transferencia bancaria y pago en cuotas sin interés hasta 6 meses con tarjetas participantes.

Seguimiento de pedidos: recibirás un correo con el número de seguimiento cuando el pedido salga de bodega. También puedes verlo en Mi cuenta > Pedidos.

Horario de atención humana: lunes a viernes de 9:00 a 18:00 y sábados de 10:00 a 14:00.

Cuidado de prendas: lava la ropa de algodón en agua fría y sécala a la sombra; las prendas de lana se lavan a mano."""

PROMPTS = {
    "ventas": "Si el cliente muestra interés en un producto, sugiere con amabilidad una prenda que combine.",
    "postventa": "Si el cliente pregunta por un pedido, pídele el número de pedido antes de responder.",
    "breve": "Responde en un máximo de dos frases.",
}


@dataclass(frozen=True)
class DemoKeys:
    root: str
    admin: str
    chat: str


class InvalidLocalKey(ValueError):
    """An ATENDE_* key variable holds a value that could never authenticate."""


def demo_keys() -> DemoKeys:
    """Exactly the keys in ATENDE_ROOT_KEY / ATENDE_DEMO_ADMIN_KEY / ATENDE_DEMO_KEY, else the defaults.

    Raises InvalidLocalKey naming the variable when one is not an Atende key, or two are the same key."""
    chosen = {
        variable: os.environ.get(variable) or default
        for variable, default in (
            ("ATENDE_ROOT_KEY", DEFAULT_ROOT_KEY),
            ("ATENDE_DEMO_ADMIN_KEY", DEFAULT_ADMIN_KEY),
            ("ATENDE_DEMO_KEY", DEFAULT_DEMO_KEY),
        )
    }
    for variable, key in chosen.items():
        if not LOCAL_KEY.fullmatch(key):
            raise InvalidLocalKey(
                f"{variable} is not an Atende key: it must be `atd_` followed by 32 to 256 URL-safe characters "
                f"(letters, digits, `-`, `_`), e.g. atd_$(openssl rand -hex 16); got {len(key)} characters "
                f"starting {key[:6]!r}."
            )
    if len(set(chosen.values())) < len(chosen):
        raise InvalidLocalKey(
            "ATENDE_ROOT_KEY, ATENDE_DEMO_ADMIN_KEY and ATENDE_DEMO_KEY must be three different keys."
        )
    return DemoKeys(*chosen.values())


def demo_bot() -> Bot:
    now = utc_now()
    settings = BotCreate.model_validate(
        {
            "id": DEMO_BOT,
            "name": "Lía — Moda Andina",
            "language": "es",
            "model": "gpt-4o-mini",
            "rules": RULES,
            "knowledge_base": KNOWLEDGE_BASE,
            "prompts": PROMPTS,
            "default_prompts": ["breve"],
            "sampling": {"temperature": 0.3, "max_tokens": 400},
            "handoff": {"keywords": ["hablar con una persona", "agente humano", "reclamo formal"], "sentinel": "😕"},
            "instant_answers": [
                {
                    "questions": ["¿Cuál es el horario de atención?", "horario de atención"],
                    "answer": "Atendemos de lunes a viernes de 9:00 a 18:00 y los sábados de 10:00 a 14:00.",
                },
            ],
        }
    )
    return Bot(**settings.model_dump(), version=1, created_at=now, updated_at=now)


def seed(keys: DemoKeys, *, upstream_base_url: str | None, upstream_api_key: str) -> None:
    """Create the demo tenant, bot, keys and the tenant's OpenAI credential (idempotent enough for a fresh stack)."""
    store, now = stores(), utc_now()
    system = Caller(DEMO_TENANT, frozenset({Scope.ADMIN}), "seed", "seed")
    store.tenants.create(
        Tenant(id=DEMO_TENANT, name="Moda Andina (demo)", created_at=now, updated_at=now),
        AuditEntry(DEMO_TENANT, "seed", "tenant.create", f"tenant/{DEMO_TENANT}"),
    )
    store.bots.create(DEMO_TENANT, demo_bot(), AuditEntry(DEMO_TENANT, "seed", "bot.create", f"bot/{DEMO_BOT}"))
    for key_id, key, scopes, label in (
        ("key_000000000001", keys.admin, ["admin", "chat", "moderate"], "demo admin"),
        ("key_000000000002", keys.chat, ["chat", "moderate"], "demo chat"),
    ):
        info = KeyInfo(
            id=key_id, tenant_id=DEMO_TENANT, prefix=display_prefix(key), label=label, scopes=scopes, created_at=now
        )
        store.keys.put(hash_key(key), info, None)
    credentials.store_credential(
        system, "openai", CredentialPut.model_validate({"api_key": upstream_api_key, "base_url": upstream_base_url})
    )
