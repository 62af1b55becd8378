"""Emulated Lambda containers: one worker process each, serving one invocation at a time, warm between calls."""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any, Protocol

from atende.platform import metrics
from devtools.functions import ROOT
from devtools.invocation_log import ENV as INVOCATION_LOG_ENV
from devtools.invocation_log import InvocationLog

MAX_CONTAINERS = 8  # per function, like a small reserved concurrency
INIT_SECONDS = 60.0  # Lambda allows 10 s of init; imports are slower on a busy 2-core machine
# What a worker inherits from the parent besides its function's own environment: the interpreter's setup.
_INHERITED = (
    "PATH",
    "HOME",
    "LANG",
    "LC_ALL",
    "TZ",
    "TMPDIR",
    "PYTHONPATH",
    "VIRTUAL_ENV",
    "SYSTEMROOT",
    INVOCATION_LOG_ENV,
)


class Invoker(Protocol):
    """What the API Gateway emulator and the alarm evaluator call: a function by name, with an event."""

    def invoke(self, name: str, event: Any, timeout: float = 29.0) -> Any: ...


class FunctionError(RuntimeError):
    """A handler raised (or its container died): Lambda's errorType / errorMessage, with the worker's trace."""

    def __init__(self, function: str, kind: str, message: str, trace: str = "") -> None:
        super().__init__(f"{function}: {kind}: {message}\n{trace}".rstrip())
        self.function, self.kind, self.message, self.trace = function, kind, message, trace


@dataclass
class Runtime:
    """What each container's process environment is made of."""

    function_env: dict[str, dict[str, str]]  # the template's variables per function (Provisioned.function_env)
    aws_env: dict[str, str]  # where AWS is (endpoint, region); credentials come per function
    credentials: dict[str, dict[str, str]] = field(default_factory=dict)  # function -> AWS_ACCESS_KEY_ID…
    overrides: dict[str, str] = field(default_factory=dict)  # e.g. cache TTLs the tests turn off

    def environment(self, name: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k in _INHERITED}
        env.update(self.aws_env)
        env.update(self.function_env.get(name, {}))
        env.update(self.credentials.get(name, {}))
        env.update(self.overrides)
        env.update(AWS_LAMBDA_FUNCTION_NAME=f"atende-{name}", PYTHONUNBUFFERED="1")
        return env


def _levels_now() -> dict[str, int]:
    manager = logging.root.manager
    found = {name: lg.level for name, lg in manager.loggerDict.items() if isinstance(lg, logging.Logger)}
    return {**found, "": logging.root.level}


class Container:
    """A worker process with functions/<name>/app.py loaded (the init phase ran once, in its constructor)."""

    def __init__(self, name: str, env: dict[str, str]) -> None:
        self.name = name
        ours, theirs = socket.socketpair()
        self.process = subprocess.Popen(  # noqa: S603 — this interpreter running our own worker module
            [sys.executable, "-m", "devtools.lambda_worker", name, str(theirs.fileno())],
            cwd=ROOT,
            env=env,
            pass_fds=(theirs.fileno(),),
            stdin=subprocess.DEVNULL,
        )
        theirs.close()
        self.connection = Connection(ours.detach())
        self.alive = True
        self.last_report: dict[str, Any] | None = None  # the worker's invocation report (ATENDE_LOCAL_INVOCATION_LOG)
        self.last_duration: float | None = None  # the last handler's seconds in the worker (Lambda's Duration)
        self._receive(time.monotonic() + INIT_SECONDS, "ready")

    def invoke(self, event: Any, timeout: float, levels: dict[str, int]) -> Any:
        request = {"event": event, "timeout": timeout, "request_id": str(uuid.uuid4()), "levels": levels}
        try:
            self.connection.send_bytes(json.dumps(request).encode())
        except OSError as error:
            self.close()
            raise FunctionError(self.name, "Runtime.ExitError", f"the container is gone: {error}") from error
        return self._receive(time.monotonic() + timeout + 1.0, "result")  # + the runtime's own overhead

    def _receive(self, deadline: float, wanted: str) -> Any:
        while True:
            remaining = deadline - time.monotonic()
            try:
                ready = remaining > 0 and self.connection.poll(remaining)
                message = json.loads(self.connection.recv_bytes()) if ready else None
            except (EOFError, OSError):
                self.close()
                raise FunctionError(self.name, "Runtime.ExitError", "the worker process exited") from None
            if message is None:
                self.close()  # Lambda stops a timed-out environment; the next call gets a fresh one
                raise FunctionError(self.name, "Sandbox.Timedout", "Task timed out")
            kind = message["kind"]
            if kind in ("result", "error"):
                self.last_report = message.get("report")
                self.last_duration = message.get("duration")
            if kind == wanted:
                return message.get("result")
            if kind == "error":
                if wanted == "ready":
                    self.close()
                raise FunctionError(self.name, message["type"], message["message"], message.get("trace", ""))
            _deliver(message)

    def close(self) -> None:
        self.hang_up()
        self.reap()

    def hang_up(self) -> None:
        """Close the connection: the worker sees EOF and returns (reap() waits for it)."""
        if self.alive:
            self.alive = False
            self.connection.close()

    def reap(self, timeout: float = 5.0) -> None:
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _deliver(message: dict[str, Any]) -> None:
    """Output, log records and EMF from a worker, handed to the parent's stdout, handlers and metrics sink."""
    kind = message["kind"]
    if kind == "output":
        stream = sys.stdout if message["stream"] == "stdout" else sys.stderr
        stream.write(message["text"])
        stream.flush()
    elif kind == "log":
        record = logging.makeLogRecord(message["record"])
        logging.getLogger(record.name).handle(record)
    elif kind == "emf":
        metrics.forward(message["record"])


class ContainerPool:
    """Warm containers of one function; each serves one request at a time, as a Lambda container does."""

    def __init__(
        self,
        name: str,
        environment: Callable[[], dict[str, str]],
        levels: Callable[[], dict[str, int]],
        log: InvocationLog | None = None,
    ) -> None:
        self.name, self._environment, self._levels, self._log = name, environment, levels, log
        self._idle: list[Container] = []
        self._all: list[Container | _Starting] = []
        self._cond = threading.Condition()

    def invoke(self, event: Any, timeout: float = 29.0) -> Any:
        container = self._acquire()
        try:
            return container.invoke(event, timeout, self._levels())
        finally:
            if self._log is not None:
                self._log.record(self.name, container.last_report)
                container.last_report = None
            with self._cond:
                if container.alive:
                    self._idle.append(container)
                else:
                    self._all.remove(container)
                self._cond.notify()

    def _acquire(self) -> Container:
        with self._cond:
            while not self._idle and len(self._all) >= MAX_CONTAINERS:
                self._cond.wait()
            if self._idle:
                return self._idle.pop()
            self._all.append(placeholder := _Starting())
        try:
            container = Container(self.name, self._environment())
        finally:
            with self._cond:
                self._all.remove(placeholder)
                self._cond.notify()
        with self._cond:
            self._all.append(container)
        return container

    @property
    def size(self) -> int:
        with self._cond:
            return len(self._all)

    def close(self) -> None:
        for container in self.hang_up():
            container.reap()

    def hang_up(self) -> list[Container]:
        """Every container told to stop, without waiting for any: their processes exit together."""
        with self._cond:
            containers, self._idle, self._all = list(self._all), [], []
        stopping = [c for c in containers if isinstance(c, Container)]
        for container in stopping:
            container.hang_up()
        return stopping


class _Starting:
    """A slot held while a container's process starts, so the cap counts it."""


class Containers:
    """Every function's pool, sharing one runtime; logger levels changed after creation reach the workers."""

    def __init__(self, runtime: Runtime, log: InvocationLog | None = None) -> None:
        self.runtime, self.log = runtime, log
        self.pools: dict[str, ContainerPool] = {}
        self._lock = threading.Lock()
        self._baseline = _levels_now()

    def pool(self, name: str) -> ContainerPool:
        with self._lock:
            if name not in self.pools:
                self.pools[name] = ContainerPool(
                    name, lambda: self.runtime.environment(name), self._changed_levels, self.log
                )
            return self.pools[name]

    def invoke(self, name: str, event: Any, timeout: float = 29.0) -> Any:
        return self.pool(name).invoke(event, timeout)

    def function(self, name: str) -> FunctionHandle:
        return FunctionHandle(self, name)

    def close(self) -> None:
        with self._lock:
            pools = list(self.pools.values())
        stopping = [container for pool in pools for container in pool.hang_up()]
        until = time.monotonic() + 5.0  # one grace for all of them (they exit together), then the rest are killed
        for container in stopping:
            container.reap(max(0.0, until - time.monotonic()))

    def _changed_levels(self) -> dict[str, int]:
        return {name: level for name, level in _levels_now().items() if self._baseline.get(name, 0) != level}


@dataclass(frozen=True)
class FunctionHandle:
    """A function as a test calls it directly (`lambda_handler(event, context)`), run in its containers."""

    containers: Containers
    name: str

    def lambda_handler(self, event: Any, context: Any = None) -> Any:
        timeout = context.get_remaining_time_in_millis() / 1000 if context is not None else 29.0
        return self.containers.invoke(self.name, event, timeout)
