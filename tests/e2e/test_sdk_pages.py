"""Every example on the SDK pages of docs/integrations/ runs against the local stack with the real client.

Each code block runs as written, with only the stack's URL (a random port here) and keys replaced, and what it
prints is checked against what the page says each field holds: the OpenAI Python SDK (the dev environment's), the
OpenAI JavaScript SDK (pinned in tests/e2e/js, `make js-deps`) and langchain-openai (`.langchain/`, `make
langchain-env`)."""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from devtools.seed import DEFAULT_ADMIN_KEY, DEFAULT_DEMO_KEY
from tests.e2e.conftest import ROOT, LocalStack

PAGES = ROOT / "docs" / "integrations"
JS = ROOT / "tests" / "e2e" / "js"


@dataclass(frozen=True)
class Client:
    page: str
    language: str  # of the page's code blocks
    command: tuple[str, ...]  # the code is appended
    installed: Path  # exists once its Makefile target ran
    target: str
    outputs: tuple[tuple[str, ...], ...]  # per example, in page order: one pattern per printed line
    cwd: Path = ROOT


# The pages' examples print the same things in the same order: the reply, where its fields are, a handoff,
# two errors (with their `param`), an Idempotency-Key replay, and a stream.
CLIENTS = {
    "python": Client(
        "openai-python.md",
        "python",
        (sys.executable, "-c"),
        Path(sys.executable),
        "venv",
        (
            (r".*\$7\.990.*", r"whatsapp:\+5491100000001 \S+ model False", r"\d+ \d+"),
            (r"to a person: keyword - Te comunico con una persona de nuestro equipo\.",),
            (r"404 bot_not_found bot", r"400 \S+ temperature"),
            (r"True True",),
            (r".*30 días.*", r"\d+ False"),
        ),
    ),
    "javascript": Client(
        "openai-javascript.md",
        "javascript",
        # An ES module evaluated in tests/e2e/js, so `import OpenAI from "openai"` finds the pinned package.
        ("node", "--input-type=module", "-e"),
        JS / "node_modules" / "openai",
        "js-deps",
        (
            (r".*\$7\.990.*", r"whatsapp:\+5491100000011 \S+ model false", r"\d+ \d+"),
            (r"to a person: keyword - Te comunico con una persona de nuestro equipo\.",),
            (r"404 bot_not_found bot", r"400 \S+ temperature"),
            (r"true true",),
            (r".*30 días.*", r"\d+ false"),
        ),
        cwd=JS,
    ),
    "langchain": Client(
        "langchain.md",
        "python",
        (str(ROOT / ".langchain" / "bin" / "python"), "-c"),
        ROOT / ".langchain" / "bin" / "python",
        "langchain-env",
        (
            (r".*\$7\.990.*", r"false model stop", r"\d+ \d+"),
            (r"to a person: keyword - Te comunico con una persona de nuestro equipo\.",),
            (r"404 bot_not_found bot", r"400 \S+ temperature"),
            (r"True True",),
            (r".*30 días.*", r"\d+"),
        ),
    ),
}


def blocks(page: str, language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", (PAGES / page).read_text(encoding="utf-8"), re.S | re.M)


def as_run_here(code: str, stack: LocalStack) -> str:
    for written, actual in (
        ("http://127.0.0.1:3000", stack.url),
        (DEFAULT_ADMIN_KEY, stack.admin_key),
        (DEFAULT_DEMO_KEY, stack.chat_key),
    ):
        code = code.replace(written, actual)
    return code


@pytest.mark.parametrize("name", sorted(CLIENTS))
def test_every_example_of_the_page_runs_and_prints_what_the_page_says(local_stack: LocalStack, name: str) -> None:
    client = CLIENTS[name]
    if not client.installed.exists():
        pytest.fail(f"the {name} client is not installed: run `make {client.target}`")
    examples = blocks(client.page, client.language)
    assert len(examples) == len(client.outputs), "one expectation per example"
    for example, expected in zip(examples, client.outputs, strict=True):
        command = [*client.command, as_run_here(example, local_stack)]
        done = subprocess.run(command, cwd=client.cwd, capture_output=True, text=True, timeout=180)
        assert done.returncode == 0, f"{example}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        printed = done.stdout.splitlines()
        assert len(printed) >= len(expected), (example, printed)
        for line, pattern in zip(printed, expected, strict=False):
            assert re.fullmatch(pattern, line, re.S), (pattern, line, example)


def test_the_python_page_names_only_real_answer_fields() -> None:
    text = (PAGES / "openai-python.md").read_text(encoding="utf-8")
    fields = set(re.findall(r'\["atende"\]\["(\w+)"\]', text))
    source = (ROOT / "layers/core/atende/chat/responses.py").read_text(encoding="utf-8")
    assert fields and all(f'"{field}":' in source for field in fields), fields
