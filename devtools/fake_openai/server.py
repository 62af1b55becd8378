"""The fake OpenAI upstream: a loopback HTTP server speaking OpenAI's wire format, scripted from tests or over HTTP."""

from __future__ import annotations

import threading
from types import TracebackType

from devtools.fake_openai.state import UpstreamState
from devtools.fake_openai.wire import Server


class FakeOpenAI(UpstreamState):
    """A real HTTP server on loopback that answers like OpenAI: scripted responses first, else the offline model.

    The scripting controls (`enqueue`, `set_latency`, `hold` / `release`, `set_api_key`, `reset`, `requests`) are
    the state's own.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, api_key: str | None = None) -> None:
        super().__init__(api_key)
        self.host, self._port = host, port
        self._server: Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------------------------------
    def start(self) -> FakeOpenAI:
        if self._server is None:
            self.stopping.clear()
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
        self.stopping.set()
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
