"""Per-container TTL caches for what the hot path reads on every turn (tenant status, bot settings)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any


class TtlCache:
    """A small dict cache whose entries expire; ttl 0 disables it (every read goes to the loader)."""

    def __init__(self, ttl_seconds: float, max_entries: int = 1024) -> None:
        self.ttl = ttl_seconds
        self.max_entries = max_entries
        self._entries: dict[Any, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def get(self, key: Any, loader: Callable[[], Any]) -> Any:
        now = time.monotonic()
        if self.ttl > 0:
            with self._lock:
                entry = self._entries.get(key)
            if entry and entry[0] > now:
                return entry[1]
        value = loader()
        if self.ttl > 0 and value is not None:
            with self._lock:
                if len(self._entries) >= self.max_entries:
                    self._entries.clear()
                self._entries[key] = (now + self.ttl, value)
        return value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
