"""The fake upstream's shared state: scripted answers, the request log, latency, API key and cached prompt prefixes."""

from __future__ import annotations

import threading
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any

from devtools.fake_openai import answers

# The request log keeps the latest requests only: the offline upstream of a local stack serving for hours would
# otherwise hold every request body it was sent (the soak's stack grew by them).
KEEP_REQUESTS = 1000


@dataclass(frozen=True)
class RecordedRequest:
    """One request the fake received on /v1: headers lower-cased, `json` the parsed body (None if absent or invalid)."""

    method: str
    path: str
    headers: dict[str, str]
    json: Any
    time: float


@dataclass
class Scripted:
    """One scripted answer: a status and body, or content / tool calls for the offline model to wrap."""

    status: int = 200
    body: dict[str, Any] | None = None
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)
    hang: bool = False
    content: str | None = None
    tool_calls: list[Any] | None = None
    usage: dict[str, Any] | None = None


class UpstreamState:
    """Everything the HTTP handler threads and the test-facing controls share, behind one lock."""

    def __init__(self, api_key: str | None = None) -> None:
        self._initial_api_key = api_key
        self._lock = threading.Lock()
        self._queues: defaultdict[str, deque[Scripted]] = defaultdict(deque)
        self._log: deque[RecordedRequest] = deque(maxlen=KEEP_REQUESTS)
        self._seen_prefixes: set[str] = set()
        self._latency = 0.0
        self._api_key = api_key
        self._gate = threading.Event()  # cleared by `hold()`: requests wait at it until `release()`
        self._gate.set()
        self.stopping = threading.Event()

    # -- controls (tests and the /_fake endpoints) -----------------------------------------------------------------
    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._log)

    def enqueue(
        self,
        *,
        path: str = "/v1/chat/completions",
        status: int = 200,
        body: dict[str, Any] | None = None,
        delay: float = 0.0,
        headers: dict[str, str] | None = None,
        hang: bool = False,
        content: str | None = None,
        tool_calls: list[Any] | None = None,
        usage: dict[str, Any] | None = None,
    ) -> None:
        """Script the next answer on `path` (FIFO per path); with an empty queue the offline model answers."""
        path = "/" + path.lstrip("/")
        path = path if path.startswith("/v1/") else "/v1" + path
        item = Scripted(int(status), body, float(delay), dict(headers or {}), bool(hang), content, tool_calls, usage)
        with self._lock:
            self._queues[path].append(item)

    def set_latency(self, seconds: float) -> None:
        with self._lock:
            self._latency = max(0.0, float(seconds))

    def hold(self) -> None:
        """Keep every request that arrives from now on waiting (recorded, unanswered) until `release()`."""
        self._gate.clear()

    def release(self) -> None:
        self._gate.set()

    def set_api_key(self, key: str | None) -> None:
        with self._lock:
            self._api_key = key

    def reset(self) -> None:
        """Back to the state after construction: no queue, log, latency or cached prefixes; the initial API key."""
        with self._lock:
            self._queues.clear()
            self._log.clear()
            self._seen_prefixes.clear()
            self._latency = 0.0
            self._api_key = self._initial_api_key
        self._gate.set()

    # -- used by the handler ---------------------------------------------------------------------------------------
    @property
    def latency(self) -> float:
        with self._lock:
            return self._latency

    def record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._log.append(request)

    def next_scripted(self, path: str) -> Scripted | None:
        with self._lock:
            queue = self._queues.get(path)
            return queue.popleft() if queue else None

    def authorized(self, authorization: str | None) -> bool:
        with self._lock:
            key = self._api_key
        return key is None or authorization == f"Bearer {key}"

    def cached_tokens(self, messages: list[dict[str, Any]]) -> int:
        """Prompt-cache hits: a long system prefix counts as cached from the second time it is seen."""
        key, tokens = answers.system_prefix(messages)
        if not key:
            return 0
        with self._lock:
            seen = key in self._seen_prefixes
            self._seen_prefixes.add(key)
        return answers.cached_tokens(tokens, seen)

    def wait(self, seconds: float) -> None:
        """Sleep, but wake at once when the server stops."""
        if seconds > 0:
            self.stopping.wait(seconds)

    def pass_gate(self) -> None:
        """Wait while requests are held (see `hold`), but not past the server's stop."""
        while not self._gate.wait(0.05) and not self.stopping.is_set():
            pass
