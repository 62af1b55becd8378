"""Every example on the SDK pages of docs/integrations/ runs against the local stack with the real client.

Each code block runs as written, with only the stack's URL (a random port here) and keys replaced, and what it
prints is checked against what the page says each field holds."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from devtools.seed import DEFAULT_ADMIN_KEY, DEFAULT_DEMO_KEY
from tests.e2e.conftest import ROOT, LocalStack

PAGES = ROOT / "docs" / "integrations"
JS = ROOT / "tests" / "e2e" / "js"  # `make js-deps` installs the pinned SDK here
LANGCHAIN_PYTHON = ROOT / ".langchain" / "bin" / "python"  # `make langchain-env`


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


def run(command: list[str], stack: LocalStack, cwd: Path = ROOT) -> str:
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}\n{stack.output()[-3000:]}"
    return done.stdout


# What each Python block prints, in page order (one pattern per printed line).
PYTHON_OUTPUTS = [
    [r".*\$7\.990.*", r"whatsapp:\+5491100000001 \S+ model False", r"\d+ \d+"],
    [r"to a person: keyword - Te comunico con una persona de nuestro equipo\."],
    [r"404 bot_not_found bot", r"400 \S+ temperature"],
    [r"True True"],
    [r".*30 días.*", r"\d+ False"],
]


def test_every_python_example_runs_and_prints_what_the_page_says(local_stack: LocalStack) -> None:
    examples = blocks("openai-python.md", "python")
    assert len(examples) == len(PYTHON_OUTPUTS), "one expectation per example"
    for example, expected in zip(examples, PYTHON_OUTPUTS, strict=True):
        printed = run([sys.executable, "-c", as_run_here(example, local_stack)], local_stack).splitlines()
        assert len(printed) >= len(expected), (example, printed)
        for line, pattern in zip(printed, expected, strict=False):
            assert re.fullmatch(pattern, line, re.S), (pattern, line, example)


# The JavaScript page's examples print the same things, in the same order.
JAVASCRIPT_OUTPUTS = [
    [r".*\$7\.990.*", r"whatsapp:\+5491100000011 \S+ model false", r"\d+ \d+"],
    [r"to a person: keyword - Te comunico con una persona de nuestro equipo\."],
    [r"404 bot_not_found bot", r"400 \S+ temperature"],
    [r"true true"],
    [r".*30 días.*", r"\d+ false"],
]


def test_every_javascript_example_runs_with_the_real_sdk(local_stack: LocalStack) -> None:
    if not (JS / "node_modules" / "openai").is_dir():
        pytest.fail("the JavaScript SDK is not installed: run `make js-deps`")
    examples = blocks("openai-javascript.md", "javascript")
    assert len(examples) == len(JAVASCRIPT_OUTPUTS), "one expectation per example"
    for example, expected in zip(examples, JAVASCRIPT_OUTPUTS, strict=True):
        # An ES module evaluated in tests/e2e/js, so `import OpenAI from "openai"` finds the pinned package.
        command = ["node", "--input-type=module", "-e", as_run_here(example, local_stack)]
        printed = run(command, local_stack, cwd=JS).splitlines()
        assert len(printed) >= len(expected), (example, printed)
        for line, pattern in zip(printed, expected, strict=False):
            assert re.fullmatch(pattern, line, re.S), (pattern, line, example)


LANGCHAIN_OUTPUTS = [
    [r".*\$7\.990.*", r"false model stop", r"\d+ \d+"],
    [r"to a person: keyword - Te comunico con una persona de nuestro equipo\."],
    [r"404 bot_not_found bot", r"400 \S+ temperature"],
    [r"True True"],
    [r".*30 días.*", r"\d+"],
]


def test_every_langchain_example_runs_with_langchain_openai(local_stack: LocalStack) -> None:
    if not LANGCHAIN_PYTHON.exists():
        pytest.fail("the LangChain environment is missing: run `make langchain-env`")
    examples = blocks("langchain.md", "python")
    assert len(examples) == len(LANGCHAIN_OUTPUTS), "one expectation per example"
    for example, expected in zip(examples, LANGCHAIN_OUTPUTS, strict=True):
        printed = run([str(LANGCHAIN_PYTHON), "-c", as_run_here(example, local_stack)], local_stack).splitlines()
        assert len(printed) >= len(expected), (example, printed)
        for line, pattern in zip(printed, expected, strict=False):
            assert re.fullmatch(pattern, line, re.S), (pattern, line, example)


@pytest.mark.parametrize("page", ["openai-python.md"])
def test_pages_name_only_real_fields(page: str) -> None:
    """The page's table of answer fields names fields Atende's completion answer has."""
    text = (PAGES / page).read_text(encoding="utf-8")
    fields = set(re.findall(r'\["atende"\]\["(\w+)"\]', text))
    source = (ROOT / "layers/core/atende/chat/responses.py").read_text(encoding="utf-8")
    assert fields and all(f'"{field}":' in source for field in fields), fields
