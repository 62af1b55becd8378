"""Logger, Tracer and metrics namespace shared by every function (Powertools singletons)."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger

METRICS_NAMESPACE = "Atende"
TRUTHY = {"1", "true", "yes", "on", "y", "t"}

logger = Logger(service="atende")


class _Untraced:
    """The tracer when tracing is off: its decorators hand the function back unchanged.

    Powertools' Tracer imports the X-Ray SDK even when disabled (it switches the SDK off through it), which is
    most of a light function's init; with tracing off (the template's `Tracing` parameter) nothing imports it."""

    def capture_lambda_handler(self, lambda_handler: Callable[..., Any] | None = None, **_: Any) -> Any:
        return lambda_handler if lambda_handler is not None else _unchanged

    def capture_method(self, method: Callable[..., Any] | None = None, **_: Any) -> Any:
        return method if method is not None else _unchanged


def _unchanged[F: Callable[..., Any]](function: F) -> F:
    return function


def tracing_enabled(environ: dict[str, str] | os._Environ[str] = os.environ) -> bool:
    """On Lambda with the template's `Tracing: Active` (TRACING), unless POWERTOOLS_TRACE_DISABLED says otherwise."""
    if environ.get("TRACING", "Active") != "Active":
        return False
    disabled = environ.get("POWERTOOLS_TRACE_DISABLED", "false").strip().lower() in TRUTHY
    local = environ.get("AWS_SAM_LOCAL") or environ.get("AWS_CHALICE_CLI_MODE")
    return bool(environ.get("LAMBDA_TASK_ROOT")) and not disabled and not local


def _tracer() -> Any:
    if not tracing_enabled():
        return _Untraced()
    from aws_lambda_powertools import Tracer  # imports the X-Ray SDK: only when traces are sent

    return Tracer(service="atende")


tracer = _tracer()
