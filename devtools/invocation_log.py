"""The local stack's invocation log (benchmarks only): each Lambda invocation with its AWS calls and duration.

Enabled by ATENDE_LOCAL_INVOCATION_LOG=1. Each worker counts its function's AWS calls with botocore event hooks and
reports them with the invocation's result; the stack keeps the reports and serves them on a loopback-only path,
`GET /_local/invocations?since=N`. Nothing of this is in the deployed template.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections import Counter
from typing import Any
from urllib.parse import parse_qs

ENV = "ATENDE_LOCAL_INVOCATION_LOG"
PATH = "/_local/invocations"
KEEP = 100_000  # reports kept; a benchmark reads them as it goes


def enabled() -> bool:
    return os.environ.get(ENV) == "1"


class AwsCallMeter:
    """Counts and times the AWS calls of boto3 clients (botocore events): `aws_seconds` is wall time with at least
    one call in flight, so a turn's parallel reads count once, and `rounds` the sequential round trips."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.aws_seconds = 0.0
        self.rounds = 0
        self._in_flight = 0
        self._busy_since = 0.0
        self._lock = threading.Lock()

    def install(self) -> AwsCallMeter:
        """In a worker: every boto3 client made from now on is attached (resources make theirs through it)."""
        import boto3.session

        original = boto3.session.Session.client
        meter = self

        def client(session: Any, *args: Any, **kwargs: Any) -> Any:
            made = original(session, *args, **kwargs)
            meter.attach(made)
            return made

        boto3.session.Session.client = client  # type: ignore[method-assign]
        return self

    def attach(self, client: Any) -> None:
        """Meter `client`'s calls; a call that ends in a connection error or timeout (`after-call-error`, no
        answer) ends its time in flight too."""
        client.meta.events.register("before-call", self._before)
        client.meta.events.register("after-call", self._ended)
        client.meta.events.register("after-call-error", self._ended)

    def _before(self, model: Any, **_: Any) -> None:
        with self._lock:
            self.calls[f"{model.service_model.service_name}.{model.name}"] += 1
            if self._in_flight == 0:
                self.rounds += 1
                self._busy_since = time.perf_counter()
            self._in_flight += 1

    def _ended(self, **_: Any) -> None:
        with self._lock:
            self._in_flight -= 1
            if self._in_flight == 0:
                self.aws_seconds += time.perf_counter() - self._busy_since

    def start(self) -> float:
        """Count from zero (one invocation, one measured turn); returns the moment, for `report`."""
        with self._lock:
            self.calls.clear()
            self.aws_seconds = 0.0
            self.rounds = 0
        return time.perf_counter()

    def report(self, started: float) -> dict[str, Any]:
        """What one invocation did: its AWS calls, the seconds they took and the invocation's own seconds."""
        return {"calls": dict(self.calls), "aws_seconds": self.aws_seconds, "seconds": time.perf_counter() - started}


class InvocationLog:
    """In the stack: every report, in order, with the function's name and a sequence number."""

    def __init__(self) -> None:
        self._entries: list[dict[str, Any]] = []
        self._first = 0  # sequence number of _entries[0]
        self._lock = threading.Lock()

    def record(self, function: str, report: dict[str, Any] | None) -> None:
        if report is None:
            return
        with self._lock:
            self._entries.append({"function": function, **report})
            if len(self._entries) > KEEP:
                drop = len(self._entries) - KEEP
                del self._entries[:drop]
                self._first += drop

    def since(self, sequence: int) -> tuple[int, list[dict[str, Any]]]:
        """The entries from sequence number `sequence` on, and the number the next read starts at."""
        with self._lock:
            start = max(0, sequence - self._first)
            return self._first + len(self._entries), list(self._entries[start:])


def serving(app: Any, log: InvocationLog) -> Any:
    """`app` with `GET /_local/invocations?since=N` answered from `log` (the stack listens on loopback only)."""

    def wsgi(environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("PATH_INFO") != PATH:
            return app(environ, start_response)
        query = parse_qs(environ.get("QUERY_STRING", ""))
        following, entries = log.since(int((query.get("since") or ["0"])[0]))
        body = json.dumps({"next": following, "invocations": entries}).encode()
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]

    return wsgi
