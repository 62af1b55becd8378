"""Resolving a presented API key to a Caller, with the per-container TTL cache the authorizer relies on."""

from __future__ import annotations

from functools import cache

from atende.access.keys import Caller, Scope, display_prefix, hash_key, looks_like_key, same_secret
from atende.platform.caching import LoadingCache
from atende.platform.errors import Unauthenticated
from atende.platform.settings import get_settings
from atende.providers import credentials
from atende.store import stores

OPERATOR_TENANT = "_operator"


@cache
def _lookups() -> LoadingCache[str, tuple[Caller, bool]]:
    """Successful key lookups of this container: (caller, may come in ?api_key=) by key hash."""
    return LoadingCache(get_settings().auth_cache_ttl_seconds)


def authenticate(key: str | None, *, from_query: bool, root_allowed: bool = True) -> Caller:
    """The caller behind `key`, or Unauthenticated. Only successful lookups are cached (new keys work at once).

    A revoked key keeps working until its cached lookup expires: AUTH_CACHE_TTL_SECONDS (0 = no cache).
    `root_allowed=False` (the chat routes, where the operator has nothing to do): the root key is never compared,
    so no Secrets Manager read, and it is refused like any key that is not stored.
    """
    if not key:
        raise Unauthenticated("Missing API key.")
    root = credentials.root_key() if root_allowed else None
    if root and same_secret(key, root):
        if from_query:
            raise Unauthenticated("The root key is never accepted in a URL.")
        return Caller(OPERATOR_TENANT, frozenset({Scope.OPERATOR}), "root", "root")
    if not looks_like_key(key):
        raise Unauthenticated("Malformed API key.")
    found = _lookups().get(hash_key(key), lambda: _lookup(key))
    if found is None:
        raise Unauthenticated("Unknown or revoked API key.")
    caller, allow_query = found
    if from_query and not allow_query:
        raise Unauthenticated("This key may not be sent as ?api_key=; use the Authorization header.")
    return caller


def _lookup(key: str) -> tuple[Caller, bool] | None:
    info = stores().keys.get_by_hash(hash_key(key))
    if info is None or info.revoked_at is not None:
        return None
    return Caller(info.tenant_id, frozenset(info.scopes), info.id, display_prefix(key)), info.allow_query_param
