"""Tracing: the X-Ray SDK is imported only when traces are sent."""

from __future__ import annotations

import subprocess
import sys

import pytest

from atende.platform.observability import tracing_enabled

LAMBDA = {"LAMBDA_TASK_ROOT": "/var/task"}


@pytest.mark.parametrize(
    ("environ", "enabled"),
    [
        ({**LAMBDA, "TRACING": "Active"}, True),
        ({**LAMBDA, "TRACING": "PassThrough"}, False),
        ({**LAMBDA, "TRACING": "Active", "POWERTOOLS_TRACE_DISABLED": "true"}, False),
        ({"TRACING": "Active"}, False),  # not on Lambda: no daemon to send to
        ({**LAMBDA, "TRACING": "Active", "AWS_SAM_LOCAL": "true"}, False),
    ],
)
def test_tracing_follows_the_template_parameter_on_lambda(environ: dict[str, str], enabled: bool) -> None:
    assert tracing_enabled(environ) is enabled


def test_a_function_with_tracing_off_never_imports_the_xray_sdk() -> None:
    code = (
        "import sys; from devtools.functions import load_function; load_function('chat'); "
        "load_function('authorizer'); print('aws_xray_sdk' in sys.modules)"
    )
    env = {"TABLE_NAME": "t", "LAMBDA_TASK_ROOT": "/var/task", "TRACING": "PassThrough", "PATH": ""}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert out.stdout.strip().splitlines()[-1] == "False", out.stderr
