"""A provider attempt ends within the time it was given, even when connecting is slow and the answer never comes.

The HTTP client times connect, write and each read on their own; the attempt's timeout splits the time left
between them (`upstream.attempt_timeout`). Shown with the real openai SDK against a loopback listener whose accept
queue is full, so the kernel drops the first SYN and the client's retransmission a second later connects, and
whose handler then reads the request and never answers (a provider stuck after accepting the call).
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import openai
import pytest

from atende.providers.upstream import attempt_timeout
from tests.support import listen_overflows

SYN_RETRY_SECONDS = 1.0  # Linux's initial retransmission timeout: the first SYN dropped costs this much
TIME_LEFT = 2.5


class SlowToConnect:
    """A listener with a one-place accept queue, filled by a connection of its own when a client connects."""

    def __init__(self) -> None:
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(0)  # Linux queues one connection beyond the backlog of 0: the filler takes it
        self.port = self.listener.getsockname()[1]
        self.filler = socket.create_connection(("127.0.0.1", self.port))
        self.stop = threading.Event()
        self.accepted: list[float] = []
        self._held: list[socket.socket] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def start(self) -> None:
        self._overflows = listen_overflows()
        self._thread.start()

    def _serve(self) -> None:
        self._wait_for_the_drop()
        for _ in range(2):  # the filler, then the client's retransmitted connection
            self.listener.settimeout(5)
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            self.accepted.append(time.monotonic())
            self._held.append(connection)  # read nothing back, answer nothing: the provider hangs
        self.stop.wait(10)

    def _wait_for_the_drop(self) -> None:
        """Until the kernel has dropped the client's first SYN (the queue is full): then the queue is freed, and the
        SYN's retransmission a second later connects. Without the kernel's counter, a fixed wait stands in."""
        if self._overflows is None:
            time.sleep(0.3)
            return
        deadline = time.monotonic() + 5
        while (listen_overflows() or 0) <= self._overflows and time.monotonic() < deadline:
            time.sleep(0.01)

    def close(self) -> None:
        self.stop.set()
        for connection in [*self._held, self.filler, self.listener]:
            with contextlib.suppress(OSError):
                connection.close()


@pytest.fixture
def slow_to_connect() -> Iterator[SlowToConnect]:
    server = SlowToConnect()
    try:
        yield server
    finally:
        server.close()


def _attempt(server: SlowToConnect, timeout: float | openai.Timeout) -> tuple[float, float]:
    """Seconds the SDK call took, and how long after it started its connection was accepted."""
    messages: Any = [{"role": "user", "content": "¿envíos?"}]
    # A first call where nothing listens (refused at once) so the timed one pays no first-use cost of the SDK.
    closed = openai.OpenAI(api_key="sk-test", base_url="http://127.0.0.1:9/v1", max_retries=0)
    with pytest.raises(openai.APIConnectionError):
        closed.chat.completions.create(model="gpt-4o-mini", messages=messages, timeout=1.0)
    client = openai.OpenAI(api_key="sk-test", base_url=f"http://127.0.0.1:{server.port}/v1", max_retries=0)
    server.start()
    started = time.monotonic()
    with pytest.raises(openai.APITimeoutError):
        client.chat.completions.create(model="gpt-4o-mini", messages=messages, timeout=timeout)
    elapsed = time.monotonic() - started
    connected = server.accepted[-1] - started if len(server.accepted) == 2 else float("nan")
    return elapsed, connected


@pytest.mark.serial
def test_a_slow_connect_and_no_answer_end_within_the_time_left(slow_to_connect: SlowToConnect) -> None:
    elapsed, _ = _attempt(slow_to_connect, attempt_timeout(TIME_LEFT))
    assert elapsed <= TIME_LEFT, f"the attempt took {elapsed:.2f} s of {TIME_LEFT} s"
    # The connect's share (at most 0.5 s) is shorter than a SYN's retransmission: that attempt gives up connecting,
    # leaving the rest of the time to another one.
    assert not slow_to_connect.accepted[1:], "the client connected: its first SYN was not dropped"


@pytest.mark.serial
def test_a_plain_float_timeout_lets_the_phases_add_up(slow_to_connect: SlowToConnect) -> None:
    """What the split prevents: with one number for every phase, the connect's second comes on top."""
    elapsed, connected = _attempt(slow_to_connect, TIME_LEFT)
    assert connected >= SYN_RETRY_SECONDS * 0.8, f"the connection was not slow to open ({connected:.2f} s)"
    assert elapsed >= TIME_LEFT + connected * 0.8, f"{elapsed:.2f} s"
