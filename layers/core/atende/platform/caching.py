"""Per-container TTL caches (cachetools) for what the hot path reads on every turn: tenants, bots, limits, keys."""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable

from cachetools import TTLCache


class LoadingCache[K: Hashable, V]:
    """A thread-safe TTL cache that loads on a miss; a ttl of 0 turns it off, and a None load is never kept."""

    def __init__(self, ttl_seconds: float, max_entries: int = 1024) -> None:
        self._entries: TTLCache[K, V] | None = TTLCache(max_entries, ttl_seconds) if ttl_seconds > 0 else None
        self._lock = threading.Lock()

    def get(self, key: K, loader: Callable[[], V | None]) -> V | None:
        if self._entries is None:
            return loader()
        with self._lock:
            value = self._entries.get(key)
        if value is None:
            value = loader()
            if value is not None:
                with self._lock:
                    self._entries[key] = value
        return value

    def peek(self, key: K) -> V | None:
        """The cached value, without loading it."""
        if self._entries is None:
            return None
        with self._lock:
            return self._entries.get(key)

    def forget(self, matches: Callable[[K], bool]) -> None:
        """Drop the entries whose key `matches` (a change this container made must show at once)."""
        if self._entries is None:
            return
        with self._lock:
            for key in [key for key in self._entries if matches(key)]:
                self._entries.pop(key, None)
