"""API keys: format, hashing, scopes, and reading the caller's identity from the authorizer context."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from enum import StrEnum

from atende.platform.errors import Forbidden

KEY_PREFIX = "atd_"
KEY_RANDOM_BYTES = 32  # token_urlsafe(32) gives 43 URL-safe characters
DISPLAY_PREFIX_LEN = 12  # "atd_" + 8 characters: enough to recognise a key, useless to guess it


class Scope(StrEnum):
    CHAT = "chat"
    MODERATE = "moderate"
    ADMIN = "admin"
    CONVERSATIONS = "conversations"  # read and erase stored conversations by id; admin keys imply it
    OPERATOR = "operator"  # the root key only


# A scope a broader one includes: an admin can already read and erase everything else of the tenant.
IMPLIED_BY = {Scope.CONVERSATIONS: Scope.ADMIN}


def new_key() -> str:
    """A fresh API key: `atd_` + 43 random URL-safe characters."""
    return KEY_PREFIX + secrets.token_urlsafe(KEY_RANDOM_BYTES)


def hash_key(key: str) -> str:
    """The only form in which a key is stored."""
    return hashlib.sha256(key.encode()).hexdigest()


def display_prefix(key: str) -> str:
    return key[:DISPLAY_PREFIX_LEN]


def looks_like_key(value: str) -> bool:
    return value.startswith(KEY_PREFIX) and 32 <= len(value) - len(KEY_PREFIX) <= 256 and value.isascii()


def same_secret(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


@dataclass(frozen=True)
class Caller:
    """Who is calling, as the authorizer established it. Handlers trust nothing else."""

    tenant_id: str
    scopes: frozenset[str]
    key_id: str
    key_prefix: str

    def require(self, scope: Scope) -> None:
        if scope not in self.scopes and IMPLIED_BY.get(scope) not in self.scopes:
            raise Forbidden(f"This API key lacks the '{scope}' scope required here.", code="insufficient_scope")

    def require_admin_of(self, tenant_id: str) -> None:
        """The operator, or an admin key of `tenant_id` itself, may administer it."""
        if Scope.OPERATOR in self.scopes:
            return
        self.require(Scope.ADMIN)
        if self.tenant_id != tenant_id:
            raise Forbidden("This API key administers another tenant.", code="wrong_tenant")

    def to_context(self) -> dict[str, str]:
        """The authorizer's context: API Gateway only passes flat string/number/boolean values."""
        return {
            "tenant_id": self.tenant_id,
            "scopes": ",".join(sorted(self.scopes)),
            "key_id": self.key_id,
            "key_prefix": self.key_prefix,
        }

    @classmethod
    def from_context(cls, context: dict | None) -> Caller:
        context = context or {}
        scopes = frozenset(s for s in str(context.get("scopes", "")).split(",") if s)
        return cls(
            tenant_id=str(context.get("tenant_id", "")),
            scopes=scopes,
            key_id=str(context.get("key_id", "")),
            key_prefix=str(context.get("key_prefix", "")),
        )


def key_from_request(headers: dict[str, str], query: dict[str, str]) -> tuple[str | None, bool]:
    """The presented key and whether it came from the query string (allowed only for some keys)."""
    lowered = {k.lower(): v for k, v in (headers or {}).items() if v is not None}
    authorization = lowered.get("authorization", "").strip()
    if authorization[:7].lower() == "bearer ":
        return authorization[7:].strip() or None, False
    if lowered.get("x-api-key"):
        return lowered["x-api-key"].strip(), False
    if (query or {}).get("api_key"):
        return query["api_key"].strip(), True
    return None, False
