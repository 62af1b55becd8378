"""The strict layer's control endpoint (`/_strict/…` on the same server) and `StrictControl`, its Python client."""

from __future__ import annotations

import json
import threading
import urllib.request
from collections.abc import Sized
from pathlib import Path
from typing import Any, Protocol

from devtools.strict_dynamodb import store
from devtools.strict_dynamodb.rules import FaultRule, Settings


class StrictDynamoDB(Protocol):
    """What the control endpoint reads and changes of the layer (middleware.StrictDynamoDB)."""

    lock: threading.Lock
    settings: Settings
    rules: list[FaultRule]
    _stats_lock: threading.Lock

    @property
    def in_flight(self) -> Sized: ...
    @property
    def tokens(self) -> Sized: ...
    @property
    def history(self) -> Sized: ...
    @property
    def counts(self) -> Any: ...
    @property
    def throughput(self) -> Sized: ...

    def reset(self) -> None: ...


PREFIX = "/_strict/"


def _rss_bytes() -> int:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def stats(layer: StrictDynamoDB) -> dict[str, Any]:
    with layer.lock:
        snapshot = {
            "in_flight_items": len(layer.in_flight),
            "tokens": len(layer.tokens),
            "gsi_history_items": len(layer.history),
            "faults": [rule.as_dict() for rule in layer.rules],
            "settings": layer.settings.as_dict(),
            "tracked_instances": store.tracked_instances(),
            "items": store.item_count(),
            "meter_keys": len(layer.throughput),
        }
    with layer._stats_lock:
        snapshot["counts"] = dict(layer.counts)
    snapshot["rss_bytes"] = _rss_bytes()
    return snapshot


def _answer(start_response: Any, status: int, payload: Any) -> list[bytes]:
    body = json.dumps(payload).encode()
    reason = {200: "OK", 400: "Bad Request", 404: "Not Found"}[status]
    start_response(f"{status} {reason}", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


def handle(layer: StrictDynamoDB, environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """GET stats · POST settings {name: value} · POST faults {"rules": [...], "append": bool} · POST reset."""
    method, path = environ.get("REQUEST_METHOD", "GET"), environ.get("PATH_INFO", "")[len(PREFIX) :].strip("/")
    try:
        raw = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        body = json.loads(raw) if raw else {}
        if method == "GET" and path == "stats":
            return _answer(start_response, 200, stats(layer))
        if method == "POST" and path == "settings":
            with layer.lock:
                layer.settings.update(body)
                return _answer(start_response, 200, layer.settings.as_dict())
        if method == "POST" and path == "faults":
            rules = [FaultRule.from_dict(rule) for rule in body.get("rules", [])]
            with layer.lock:
                layer.rules = [*layer.rules, *rules] if body.get("append") else rules
                return _answer(start_response, 200, [rule.as_dict() for rule in layer.rules])
        if method == "POST" and path == "reset":
            layer.reset()
            return _answer(start_response, 200, {"reset": True})
    except (ValueError, TypeError) as exc:
        return _answer(start_response, 400, {"error": str(exc)})
    return _answer(start_response, 404, {"error": f"no {method} {PREFIX}{path}"})


class StrictControl:
    """Drives a strict embedded AWS over HTTP, from this process or another one:

    >>> control = StrictControl("http://127.0.0.1:4566")
    >>> control.settings(transaction_window_ms=50, gsi_lag_ms=500, item_wcu_per_second=5)
    >>> control.fault("PutItem", "error", code="ThrottlingException", status=400, count=1)
    >>> control.fault("UpdateItem", "lost", key="user#1")
    >>> control.stats()["counts"]
    >>> control.reset()  # settings to defaults, no faults, counters and tokens cleared (data is kept)
    """

    def __init__(self, endpoint: str, timeout: float = 5.0) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.timeout = timeout

    def _call(self, method: str, path: str, payload: Any = None) -> Any:
        data = json.dumps(payload).encode() if payload is not None else None
        request = urllib.request.Request(f"{self.endpoint}{PREFIX}{path}", data=data, method=method)
        request.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(request, timeout=self.timeout) as response:
            return json.loads(response.read())

    def settings(self, **changes: float) -> dict[str, Any]:
        """Change settings (see `Settings`) and return all of them."""
        return dict(self._call("POST", "settings", changes))

    def faults(self, *rules: dict[str, Any] | FaultRule) -> list[dict[str, Any]]:
        """Replace the fault plan; `faults()` clears it."""
        plan = [rule.as_dict() if isinstance(rule, FaultRule) else rule for rule in rules]
        for rule in plan:
            rule.pop("fired", None)
        return list(self._call("POST", "faults", {"rules": plan}))

    def fault(self, operation: str, kind: str = "error", **options: Any) -> list[dict[str, Any]]:
        """Add one rule to the plan (fields of `FaultRule`)."""
        rule = {"operation": operation, "kind": kind, **options}
        return list(self._call("POST", "faults", {"rules": [rule], "append": True}))

    def stats(self) -> dict[str, Any]:
        return dict(self._call("GET", "stats"))

    def counts(self) -> dict[str, int]:
        return dict(self.stats()["counts"])

    def reset(self) -> None:
        self._call("POST", "reset", {})
