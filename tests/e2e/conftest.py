"""E2E fixtures: the real local stack (`python -m devtools.stack`, what `make dev` runs) as a subprocess on loopback."""

from __future__ import annotations

import contextlib
import os
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import pytest
import requests

from devtools.aws_local import free_port
from devtools.processes import stop_gracefully

ROOT = Path(__file__).resolve().parents[2]
STARTUP_SECONDS = 180  # a fresh stack starts in ~10 s, but far slower on a machine shared by many test runs
# Workers are reaped one after another (up to 5 s each when busy): a stack whose functions scaled out (a browser
# loading the console fetches a dozen files at once) needs longer than 10 s to stop on a loaded machine.
SHUTDOWN_SECONDS = 60
# Short enough for the revocation test to watch it pass, long enough to see a revoked key still served.
AUTH_CACHE_TTL_SECONDS = 2


@dataclass
class LocalStack:
    """A running `python -m devtools.stack`: where it answers, the keys it was given, and what it printed."""

    url: str
    root_key: str
    admin_key: str
    chat_key: str
    auth_cache_ttl_seconds: float
    process: subprocess.Popen[str]
    _stdout: list[str] = field(default_factory=list)
    _stderr: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def stdout(self) -> str:
        with self._lock:
            return "".join(self._stdout)

    @property
    def stderr(self) -> str:
        with self._lock:
            return "".join(self._stderr)

    def output(self) -> str:
        """Everything the stack printed so far, for failure messages."""
        return f"--- stdout ---\n{self.stdout}\n--- stderr ---\n{self.stderr[-20_000:]}"

    def request(self, method: str, path: str, *, key: str | None = None, **kwargs: Any) -> requests.Response:
        headers = dict(kwargs.pop("headers", None) or {})
        if key is not None:
            headers.setdefault("Authorization", f"Bearer {key}")
        kwargs.setdefault("timeout", 30)
        return requests.request(method, self.url + path, headers=headers, **kwargs)

    def _pump(self, stream: IO[str], sink: list[str]) -> None:
        for line in stream:
            with self._lock:
                sink.append(line)


def _environment(port: int, keys: dict[str, str]) -> dict[str, str]:
    """The caller's environment without anything that would point the stack elsewhere, plus the test settings."""
    env = {
        name: value
        for name, value in os.environ.items()
        # OPENAI_API_KEY would switch the stack to the real OpenAI; AWS_* and Powertools settings may have
        # been set in this process by the integration suite's fixtures.
        if not name.startswith(("OPENAI_", "AWS_", "POWERTOOLS_", "ATENDE_"))
    }
    env.update(keys)
    env["PORT"] = str(port)
    env["ATENDE_AUTH_CACHE_TTL_SECONDS"] = str(AUTH_CACHE_TTL_SECONDS)
    env["PYTHONUNBUFFERED"] = "1"
    env["ATENDE_ALARM_INTERVAL_SECONDS"] = "1"  # the limits test watches alarms fire
    return env


def _wait_until_ready(stack: LocalStack) -> None:
    """Until GET /openapi.json answers and the banner (URL and keys) is printed, which comes just after."""
    deadline = time.monotonic() + STARTUP_SECONDS
    answering = False
    while time.monotonic() < deadline:
        if stack.process.poll() is not None:
            pytest.fail(f"the local stack exited with {stack.process.returncode} while starting\n{stack.output()}")
        with contextlib.suppress(requests.RequestException):  # refused, or too busy to answer yet
            answering = answering or requests.get(stack.url + "/openapi.json", timeout=2).status_code == 200
        if answering and stack.url in stack.stdout:
            return
        time.sleep(0.2)
    stack.process.kill()
    pytest.fail(f"the local stack was not ready within {STARTUP_SECONDS} s\n{stack.output()}")


@pytest.fixture(scope="session")
def local_stack() -> Iterator[LocalStack]:
    """Start the stack exactly as `make dev` does, wait for it, and on teardown check it stops cleanly on SIGTERM."""
    port = free_port()
    keys = {
        "ATENDE_ROOT_KEY": "atd_e2e-root-" + secrets.token_urlsafe(24),
        "ATENDE_DEMO_ADMIN_KEY": "atd_e2e-admin-" + secrets.token_urlsafe(24),
        "ATENDE_DEMO_KEY": "atd_e2e-chat-" + secrets.token_urlsafe(24),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "devtools.stack"],
        cwd=ROOT,
        env=_environment(port, keys),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        errors="replace",
    )
    stack = LocalStack(
        url=f"http://127.0.0.1:{port}",
        root_key=keys["ATENDE_ROOT_KEY"],
        admin_key=keys["ATENDE_DEMO_ADMIN_KEY"],
        chat_key=keys["ATENDE_DEMO_KEY"],
        auth_cache_ttl_seconds=AUTH_CACHE_TTL_SECONDS,
        process=process,
    )
    assert process.stdout is not None and process.stderr is not None
    pumps = [
        threading.Thread(target=stack._pump, args=(process.stdout, stack._stdout), daemon=True),
        threading.Thread(target=stack._pump, args=(process.stderr, stack._stderr), daemon=True),
    ]
    for pump in pumps:
        pump.start()
    try:
        _wait_until_ready(stack)
        yield stack
    finally:
        if not stop_gracefully(process, SHUTDOWN_SECONDS):
            pytest.fail(f"the local stack did not stop within {SHUTDOWN_SECONDS} s of SIGTERM\n{stack.output()}")
        for pump in pumps:
            pump.join(timeout=5)
    assert process.returncode == 0, f"the local stack exited with {process.returncode}\n{stack.output()}"
    assert "Traceback" not in stack.stderr, f"the local stack printed a traceback\n{stack.output()}"
