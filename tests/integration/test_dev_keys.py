"""`make dev` refuses ATENDE_* keys that could never authenticate, before it starts anything."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from devtools.aws_local import free_port
from devtools.seed import DEFAULT_ADMIN_KEY, InvalidLocalKey, demo_keys

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("ATENDE_DEMO_KEY", "atd_short"),
        ("ATENDE_ROOT_KEY", "foo"),
        ("ATENDE_DEMO_ADMIN_KEY", "atd_" + "x" * 31 + " "),
        ("ATENDE_DEMO_KEY", "atd_" + "é" * 40),
    ],
)
def test_the_stack_exits_naming_an_invalid_key_before_starting(variable: str, value: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ATENDE_")}
    env |= {variable: value, "PORT": str(free_port())}
    done = subprocess.run(
        [sys.executable, "-m", "devtools.stack"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert variable in done.stderr and "atd_" in done.stderr
    assert "Atende is running" not in done.stdout


def test_two_roles_cannot_share_one_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ATENDE_DEMO_KEY", DEFAULT_ADMIN_KEY)
    with pytest.raises(InvalidLocalKey, match="three different keys"):
        demo_keys()


def test_valid_keys_are_taken_as_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ATENDE_ROOT_KEY", "atd_my-root-" + "a" * 32)
    assert demo_keys().root == "atd_my-root-" + "a" * 32 and demo_keys().admin == DEFAULT_ADMIN_KEY


def test_make_dev_itself_fails_on_an_invalid_key() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ATENDE_", "MAKE", "MFLAGS"))}
    env |= {"ATENDE_DEMO_KEY": "atd_short", "PORT": str(free_port())}
    done = subprocess.run(["make", "-s", "dev"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode != 0 and "ATENDE_DEMO_KEY is not an Atende key" in done.stderr, (done.stdout, done.stderr)
    assert "Atende is running" not in done.stdout
