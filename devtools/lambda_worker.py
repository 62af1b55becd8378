"""One emulated Lambda execution environment: a process that loads one function and runs invocations one by one."""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
import time
import traceback
from decimal import Decimal
from multiprocessing.connection import Connection
from typing import Any

from devtools import invocation_log

# Everything the function prints, logs or emits as EMF goes to the parent as a message, so that the parent's
# stdout, logging handlers and metrics sink see it as they did when functions ran in the parent's threads.


class _Channel:
    """JSON messages to the parent; one writer at a time (a handler's own threads may log)."""

    def __init__(self, connection: Connection) -> None:
        self.connection, self._lock = connection, threading.Lock()

    def send(self, kind: str, **payload: Any) -> None:
        data = json.dumps({"kind": kind, **payload}, default=_lambda_json).encode()
        with self._lock:
            self.connection.send_bytes(data)


def _lambda_json(value: Any) -> Any:
    """What the Lambda runtime's marshaller accepts beyond JSON: Decimal (DynamoDB numbers)."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"Unable to marshal response: {type(value).__name__} is not JSON serializable")


class _Stream:
    """sys.stdout / sys.stderr of the function: whole lines to the parent."""

    def __init__(self, channel: _Channel, name: str) -> None:
        self.channel, self.name, self._buffer = channel, name, ""
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        with self._lock:
            self._buffer += text
            lines, sep, self._buffer = self._buffer.rpartition("\n")
        if sep:
            self.channel.send("output", stream=self.name, text=lines + sep)
        return len(text)

    def flush(self) -> None:
        with self._lock:
            pending, self._buffer = self._buffer, ""
        if pending:
            self.channel.send("output", stream=self.name, text=pending)

    def isatty(self) -> bool:
        return False


class _Forward(logging.Handler):
    """Records that reach the root logger, rendered (like QueueHandler) and re-emitted by the parent."""

    def __init__(self, channel: _Channel) -> None:
        super().__init__(logging.NOTSET)
        self.channel = channel

    def emit(self, record: logging.LogRecord) -> None:
        try:
            fields = {key: value for key, value in record.__dict__.items() if _plain(value)}
            fields["msg"], fields["args"] = record.getMessage(), None
            if record.exc_info:
                fields["exc_text"] = logging.Formatter().formatException(record.exc_info)
            fields.pop("exc_info", None)
            self.channel.send("log", record=fields)
        except Exception:  # noqa: BLE001 — as logging does: a broken record must not break the function
            self.handleError(record)


def _plain(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


class _Levels:
    """Logger levels the parent changed since the pool started (e.g. a test's caplog.set_level), undone later."""

    def __init__(self) -> None:
        self._original: dict[str, int] = {}

    def apply(self, wanted: dict[str, int]) -> None:
        for name in set(self._original) - set(wanted):
            logging.getLogger(name or None).setLevel(self._original.pop(name))
        for name, level in wanted.items():
            target = logging.getLogger(name or None)
            self._original.setdefault(name, target.level)
            target.setLevel(level)


def main(name: str, fd: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's: it closes its containers
    channel = _Channel(Connection(fd))
    sys.stdout = _Stream(channel, "stdout")  # type: ignore[assignment]
    sys.stderr = _Stream(channel, "stderr")  # type: ignore[assignment]
    logging.getLogger().addHandler(_Forward(channel))
    # before the function loads, so that any client it makes is counted
    meter = invocation_log.AwsCallMeter().install() if invocation_log.enabled() else None
    try:
        from atende.platform import metrics

        metrics.set_metrics_sink(lambda record: channel.send("emf", record=record))
        from devtools.functions import FakeLambdaContext, load_function

        module = load_function(name)
        if module is None:
            raise LookupError(f"functions/{name}/app.py does not exist")
    except BaseException as error:  # noqa: BLE001 — the init phase failed, as Runtime.ImportModuleError does on Lambda
        _flush()
        channel.send("error", type=type(error).__name__, message=str(error), trace=traceback.format_exc())
        return
    _flush()
    channel.send("ready")
    levels = _Levels()
    while True:
        try:
            request = json.loads(channel.connection.recv_bytes())
        except (EOFError, OSError):  # the pool closed or the parent died: the environment is gone
            return
        levels.apply(request.get("levels") or {})
        context = FakeLambdaContext(f"atende-{name}", request["request_id"], request["timeout"])
        started = meter.start() if meter else 0.0
        began = time.monotonic()  # Lambda's REPORT Duration: the handler's own time, in its environment
        try:
            result = module.lambda_handler(request["event"], context)
            json.dumps(result, default=_lambda_json)  # a result Lambda cannot marshal is an error there too
        except Exception as error:  # noqa: BLE001 — reported to the caller like Lambda's errorType/errorMessage
            _flush()
            report = meter.report(started) if meter else None
            channel.send(
                "error",
                type=type(error).__name__,
                message=str(error),
                trace=traceback.format_exc(),
                report=report,
                duration=time.monotonic() - began,
            )
            continue
        _flush()
        duration = time.monotonic() - began
        channel.send("result", result=result, report=meter.report(started) if meter else None, duration=duration)


def _flush() -> None:
    sys.stdout.flush()
    sys.stderr.flush()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
