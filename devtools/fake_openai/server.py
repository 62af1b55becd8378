"""The fake OpenAI upstream: a loopback HTTP server speaking OpenAI's wire format, scripted from tests or over HTTP."""

from __future__ import annotations

import threading
from collections import defaultdict, deque
from types import TracebackType
from typing import Any

from devtools.fake_openai import answers
from devtools.fake_openai.wire import RecordedRequest, Scripted, Server


class FakeOpenAI:
    """A real HTTP server on loopback that answers like OpenAI: scripted responses first, else the offline model."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, api_key: str | None = None) -> None:
        self.host, self._port, self._initial_api_key = host, port, api_key
        self._lock = threading.Lock()
        self._queues: defaultdict[str, deque[Scripted]] = defaultdict(deque)
        self._log: list[RecordedRequest] = []
        self._seen_prefixes: set[str] = set()
        self._latency = 0.0
        self._api_key = api_key
        self._stopping = threading.Event()
        self._server: Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------------------------------
    def start(self) -> FakeOpenAI:
        if self._server is None:
            self._stopping.clear()
            self._server = Server((self.host, self._port), self)
            self._thread = threading.Thread(
                target=self._server.serve_forever, args=(0.05,), name="fake-openai", daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        server.close_connections()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("FakeOpenAI is not started")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """The server root, where the /_fake control endpoints live."""
        host = "127.0.0.1" if self.host in ("", "0.0.0.0") else self.host
        return f"http://{host}:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    # -- scripting -------------------------------------------------------------------------------------------------
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

    # -- used by the handler ---------------------------------------------------------------------------------------
    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._log.append(request)

    def _next_scripted(self, path: str) -> Scripted | None:
        with self._lock:
            queue = self._queues.get(path)
            return queue.popleft() if queue else None

    def _authorized(self, authorization: str | None) -> bool:
        with self._lock:
            key = self._api_key
        return key is None or authorization == f"Bearer {key}"

    def _cached_tokens(self, messages: list[dict[str, Any]]) -> int:
        key, tokens = answers.system_prefix(messages)
        if not key:
            return 0
        with self._lock:
            seen = key in self._seen_prefixes
            self._seen_prefixes.add(key)
        return answers.cached_tokens(tokens, seen)

    def _wait(self, seconds: float) -> None:
        if seconds > 0:
            self._stopping.wait(seconds)
