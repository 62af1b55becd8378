"""A turn's deadline, and the context variable through which it bounds every AWS call made inside the turn."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar


class Deadline:
    """The time a call may still take, so every retry and fallback fits the caller's own timeout."""

    def __init__(self, seconds: float, *, started: float | None = None) -> None:
        self.started = time.monotonic() if started is None else started
        self.reset(seconds)

    def reset(self, seconds: float) -> None:
        """Count `seconds` from the same start (a bot's own deadline replaces the default once it is known)."""
        self.seconds = seconds
        self.expires = self.started + seconds

    def remaining(self) -> float:
        return max(0.0, self.expires - time.monotonic())


_current: ContextVar[Deadline | None] = ContextVar("atende_deadline", default=None)


def current() -> Deadline | None:
    """The deadline of the turn this code runs in, or None outside a turn (config API, schedules)."""
    return _current.get()


@contextmanager
def bounded(deadline: Deadline) -> Iterator[Deadline]:
    """Bound every AWS call in the block by `deadline` (see platform/aws.py); the previous bound comes back after."""
    token = _current.set(deadline)
    try:
        yield deadline
    finally:
        _current.reset(token)
