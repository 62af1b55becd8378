"""The fake upstream's HTTP side: wire constants, error envelopes, the threaded server and its handler."""

from __future__ import annotations

import contextlib
import json
import select
import socket
import sys
import threading
import time
import uuid
from dataclasses import asdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast
from urllib.parse import urlsplit

from devtools.fake_openai import answers, moderation
from devtools.fake_openai.state import RecordedRequest, Scripted, UpstreamState

HANG_SECONDS = 120.0
CHAT_MODELS = ("gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-4.1-mini", "gpt-4.1-nano", "gpt-5-mini")
MODERATION_MODEL = "omni-moderation-latest"
# status -> (message, type, code) of OpenAI's error envelope.
ERRORS: dict[int, tuple[str, str, str | None]] = {
    400: ("Invalid request.", "invalid_request_error", None),
    401: ("Incorrect API key provided.", "invalid_request_error", "invalid_api_key"),
    403: ("You are not allowed to access this resource.", "invalid_request_error", "permission_denied"),
    404: ("The model does not exist or you do not have access to it.", "invalid_request_error", "model_not_found"),
    409: ("Conflict.", "invalid_request_error", None),
    422: ("Unprocessable entity.", "invalid_request_error", None),
    429: ("Rate limit reached for requests. Please try again later.", "requests", "rate_limit_exceeded"),
    500: ("The server had an error while processing your request. Sorry about that!", "server_error", None),
    502: ("Bad gateway.", "server_error", None),
    503: ("The engine is currently overloaded, please try again later.", "server_error", None),
    504: ("Gateway timeout.", "server_error", None),
}


def error_body(status: int, message: str | None = None, param: str | None = None) -> dict[str, Any]:
    """OpenAI's error envelope for a status."""
    default_message, kind, code = ERRORS.get(
        status, ("Upstream error.", "server_error" if status >= 500 else "invalid_request_error", None)
    )
    return {"error": {"message": message or default_message, "type": kind, "param": param, "code": code}}


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # socketserver's default accept queue holds 5: a burst of new connections while the accepting thread waits
    # for the GIL can overflow it, and each SYN dropped then costs its client a second (a provider's queue is deep).
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], state: UpstreamState) -> None:
        self.state = state
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Ends idle keep-alive connections so their handler threads finish."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):  # a client that went away is normal
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out at once: no 40 ms delayed-ACK stalls
    server_version = "fake-openai/1.0"
    sys_version = ""
    timeout = HANG_SECONDS  # idle keep-alive connections close after this

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the request log is `UpstreamState.requests`."""

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    @property
    def state(self) -> UpstreamState:
        return cast(Server, self.server).state

    def _dispatch(self) -> None:
        path = urlsplit(self.path).path.rstrip("/") or "/"
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            body, bad_json = (json.loads(raw) if raw.strip() else None), False
        except ValueError:
            body, bad_json = None, True
        if path.startswith("/_fake/"):
            self._control(path, body, bad_json)
            return
        state = self.state
        state.record(
            RecordedRequest(self.command, path, {k.lower(): v for k, v in self.headers.items()}, body, time.time())
        )
        state.wait(state.latency)
        state.pass_gate()
        if not state.authorized(self.headers.get("Authorization")):
            self._send_json(
                401, error_body(401, "Incorrect API key provided. You can find your API key in your account.")
            )
            return
        scripted = state.next_scripted(path) or Scripted()
        state.wait(scripted.delay)
        if scripted.hang:
            self._hang()
            return
        if scripted.body is not None or scripted.status >= 400:
            payload = scripted.body if scripted.body is not None else error_body(scripted.status)
            self._send_json(scripted.status, payload, scripted.headers)
            return
        if bad_json:
            self._send_json(400, error_body(400, "We could not parse the JSON body of your request."), scripted.headers)
        elif (self.command, path) == ("POST", "/v1/chat/completions"):
            self._chat(body, scripted)
        elif (self.command, path) == ("POST", "/v1/moderations"):
            self._moderations(body, scripted)
        elif self.command == "GET" and path.startswith("/v1/models"):
            self._models(path, scripted)
        else:
            message = f"Invalid URL ({self.command} {path})"
            self._send_json(
                404, {"error": {"message": message, "type": "invalid_request_error", "param": None, "code": None}}
            )

    # -- OpenAI endpoints ------------------------------------------------------------------------------------------
    def _chat(self, body: Any, scripted: Scripted) -> None:
        if not isinstance(body, dict):
            self._send_json(400, error_body(400, "The request body must be a JSON object."), scripted.headers)
            return
        messages, model = body.get("messages"), body.get("model")
        if not isinstance(messages, list) or not messages or not all(isinstance(m, dict) for m in messages):
            self._send_json(400, error_body(400, "'messages' must be a non-empty array of objects.", "messages"))
            return
        if not isinstance(model, str) or not model:
            self._send_json(400, error_body(400, "you must provide a model parameter", "model"))
            return
        choices = answers.build_choices(body, content=scripted.content, tool_calls=scripted.tool_calls)
        usage = answers.usage(messages, choices, self.state.cached_tokens(messages), scripted.usage)
        cid, created = f"chatcmpl-{uuid.uuid4().hex[:24]}", int(time.time())
        model = model if model.startswith("offline-") else f"offline-{model}"
        if body.get("stream") is True:
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            self._send_events(
                answers.stream_chunks(cid, created, model, choices, usage, include_usage), scripted.headers
            )
        else:
            self._send_json(200, answers.completion(cid, created, model, choices, usage), scripted.headers)

    def _moderations(self, body: Any, scripted: Scripted) -> None:
        items = moderation.inputs(body.get("input")) if isinstance(body, dict) else None
        if items is None:
            self._send_json(
                400, error_body(400, "'input' must be a string, an array of strings or content parts.", "input")
            )
            return
        model = body.get("model") or MODERATION_MODEL
        reply = {
            "id": f"modr-{uuid.uuid4().hex[:24]}",
            "model": model,
            "results": [moderation.result(i) for i in items],
        }
        self._send_json(200, reply, scripted.headers)

    def _models(self, path: str, scripted: Scripted) -> None:
        models = [
            {"id": m, "object": "model", "created": 1715367049, "owned_by": "system"}
            for m in (*CHAT_MODELS, MODERATION_MODEL)
        ]
        wanted = path.removeprefix("/v1/models").lstrip("/")
        if not wanted:
            self._send_json(200, {"object": "list", "data": models}, scripted.headers)
            return
        found = next((m for m in models if m["id"] == wanted), None)
        self._send_json(
            200 if found else 404, found or error_body(404, f"The model '{wanted}' does not exist"), scripted.headers
        )

    # -- control endpoints -----------------------------------------------------------------------------------------
    def _control(self, path: str, body: Any, bad_json: bool) -> None:
        state = self.state
        if bad_json:
            self._send_json(400, error_body(400, "Invalid JSON."))
            return
        try:
            if (self.command, path) == ("GET", "/_fake/requests"):
                self._send_json(200, [asdict(r) for r in state.requests])
                return
            if (self.command, path) == ("POST", "/_fake/enqueue"):
                for item in body if isinstance(body, list) else [body or {}]:
                    state.enqueue(**item)
            elif (self.command, path) == ("POST", "/_fake/latency"):
                state.set_latency((body or {}).get("seconds", 0))
            elif (self.command, path) == ("POST", "/_fake/api_key"):
                state.set_api_key((body or {}).get("key"))
            elif (self.command, path) == ("POST", "/_fake/reset"):
                state.reset()
            else:
                self._send_json(404, error_body(404, f"Unknown control endpoint {self.command} {path}"))
                return
        except (TypeError, ValueError, AttributeError) as exc:
            self._send_json(400, error_body(400, f"Bad control request: {exc}"))
            return
        self._send_json(200, {"ok": True})

    # -- wire helpers ----------------------------------------------------------------------------------------------
    def _start(self, status: int, content_type: str, headers: dict[str, str] | None, length: int | None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("x-request-id", f"req_{uuid.uuid4().hex}")
        self.send_header("openai-processing-ms", "1")
        if length is None:
            self.send_header("Transfer-Encoding", "chunked")
            self.send_header("Cache-Control", "no-cache")
        else:
            self.send_header("Content-Length", str(length))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()

    def _send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload, ensure_ascii=False).encode()
        self._start(status, "application/json", headers, len(data))
        self.wfile.write(data)

    def _send_events(self, events: Any, headers: dict[str, str]) -> None:
        """Server-sent events over chunked transfer encoding, ending with `data: [DONE]`."""
        self._start(200, "text/event-stream; charset=utf-8", headers, None)
        for event in [*(json.dumps(e, ensure_ascii=False) for e in events), "[DONE]"]:
            data = f"data: {event}\n\n".encode()
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")

    def _hang(self) -> None:
        """Never answer: wait until the client goes away, the server stops, or HANG_SECONDS pass; then close."""
        deadline = time.monotonic() + HANG_SECONDS
        self.close_connection = True
        while not self.state.stopping.is_set() and time.monotonic() < deadline:
            readable, _, _ = select.select([self.connection], [], [], 0.1)
            if readable:
                try:
                    if not self.connection.recv(1, socket.MSG_PEEK):
                        return
                except OSError:
                    return
                time.sleep(0.1)
