"""Loading the Lambda functions' `app.py` modules: in each worker process, or in-process for benchmarks."""

from __future__ import annotations

import importlib.util
import sys
import time
import uuid
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS = ("authorizer", "chat", "moderate", "config", "limits")


def function_path(name: str) -> Path:
    return ROOT / "functions" / name / "app.py"


def load_function(name: str, container: str = "0") -> ModuleType | None:
    """A fresh copy of functions/<name>/app.py (its own resolver), as a Lambda container would have.

    Returns None while a function has not been written yet.
    """
    path = function_path(name)
    if not path.exists():
        return None
    module_name = f"atende_function_{name}_{container}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


class FakeLambdaContext:
    """The attributes of a Lambda context that Powertools and our handlers read."""

    def __init__(self, function_name: str, request_id: str, timeout_seconds: float = 29.0) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = 1024
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{function_name}"
        self.aws_request_id = request_id
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class InThreadContainers:
    """Function modules in this process (one copy per name), called in the caller's thread.

    For benchmarks that instrument the functions' boto3 clients in-process, one request at a time. Never for
    concurrent requests: Powertools keeps the current event on the resolver class, shared by every copy.
    """

    def __init__(self) -> None:
        self._modules: dict[str, ModuleType] = {}

    def invoke(self, name: str, event: Any, timeout: float = 29.0) -> Any:
        if name not in self._modules:
            module = load_function(name, "in-thread")
            if module is None:
                raise LookupError(f"functions/{name}/app.py does not exist")
            self._modules[name] = module
        return self._modules[name].lambda_handler(
            event, FakeLambdaContext(f"atende-{name}", str(uuid.uuid4()), timeout)
        )

    def close(self) -> None:
        self._modules.clear()
