"""Resolving a presented API key to a Caller, with the per-container TTL cache the authorizer relies on."""

from __future__ import annotations

import threading
import time

from atende.access.keys import Caller, Scope, display_prefix, hash_key, looks_like_key, same_secret
from atende.platform.errors import Unauthenticated
from atende.platform.settings import get_settings
from atende.providers import credentials
from atende.store import stores

OPERATOR_TENANT = "_operator"
_cache: dict[str, tuple[Caller, bool, float]] = {}
_lock = threading.Lock()


def authenticate(key: str | None, *, from_query: bool) -> Caller:
    """The caller behind `key`, or Unauthenticated. Only successful lookups are cached (new keys work at once).

    A revoked key keeps working until its cached lookup expires: AUTH_CACHE_TTL_SECONDS (0 = no cache).
    """
    if not key:
        raise Unauthenticated("Missing API key.")
    root = credentials.root_key()
    if root and same_secret(key, root):
        if from_query:
            raise Unauthenticated("The root key is never accepted in a URL.")
        return Caller(OPERATOR_TENANT, frozenset({Scope.OPERATOR}), "root", "root")
    if not looks_like_key(key):
        raise Unauthenticated("Malformed API key.")
    key_hash, ttl = hash_key(key), get_settings().auth_cache_ttl_seconds
    now = time.monotonic()
    with _lock:
        cached = _cache.get(key_hash)
    if cached and cached[2] > now:
        caller, allow_query, _ = cached
    else:
        info = stores().keys.get_by_hash(key_hash)
        if info is None or info.revoked_at is not None:
            with _lock:
                _cache.pop(key_hash, None)
            raise Unauthenticated("Unknown or revoked API key.")
        caller = Caller(info.tenant_id, frozenset(info.scopes), info.id, display_prefix(key))
        allow_query = info.allow_query_param
        if ttl > 0:
            with _lock:
                _cache[key_hash] = (caller, allow_query, now + ttl)
    if from_query and not allow_query:
        raise Unauthenticated("This key may not be sent as ?api_key=; use the Authorization header.")
    return caller


def clear_cache() -> None:
    with _lock:
        _cache.clear()
