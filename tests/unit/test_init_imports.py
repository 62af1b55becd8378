"""What a cold start imports: each function loads only what its requests need."""

from __future__ import annotations

import subprocess
import sys


def _imported_after_loading(function: str, modules: list[str]) -> list[str]:
    code = (
        "import sys; from devtools.functions import load_function; "
        f"load_function({function!r}); print('imported:' + ','.join(m for m in {modules!r} if m in sys.modules))"
    )
    env = {"TABLE_NAME": "t", "PATH": ""}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    return [m for m in out.stdout.strip().splitlines()[-1].removeprefix("imported:").split(",") if m]


def test_the_authorizer_imports_neither_openai_nor_models_it_never_reads() -> None:
    heavy = ["openai", "aws_xray_sdk", "atende.models.bots", "atende.models.limits", "atende.store.conversations"]
    assert _imported_after_loading("authorizer", heavy) == []
