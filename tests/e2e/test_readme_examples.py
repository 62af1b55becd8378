"""The README's config tour runs as written: its shell examples, in order, against the local stack.

Only what the stack prints differently is replaced: its URL (a random port here) and its keys (this session's).
Every `curl` must answer 2xx: a wrapper records each status."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from devtools.seed import DEFAULT_ADMIN_KEY, DEFAULT_DEMO_KEY, DEFAULT_ROOT_KEY
from tests.e2e.conftest import ROOT, LocalStack

# The sections of the tour, in README order; each runs until the next heading of its level or above.
TOUR = (
    "## The config API by example",
    "### Webhook: `POST /v1/bots/{bot}/chat`",
    "### Conversations",
    "## Limits and usage",
)
BLOCK = re.compile(r"^```sh\n(.*?)^```", re.S | re.M)
# Records every curl's status on file descriptor 3; the example's own output is left as it is.
PRELUDE = """set -euo pipefail
curl() { command curl --write-out '%{stderr}%{http_code}\\n' --max-time 30 "$@" 2>&3; }
"""


def tour_blocks(readme: str) -> list[str]:
    lines = readme.splitlines(keepends=True)
    blocks: list[str] = []
    for heading in TOUR:
        level = heading.split(" ", 1)[0]
        start = next(n for n, line in enumerate(lines) if line.rstrip("\n") == heading)
        end = next(
            (
                n
                for n in range(start + 1, len(lines))
                if re.match(rf"^#{{1,{len(level)}}} ", lines[n]) and not _in_code(lines, n)
            ),
            len(lines),
        )
        blocks += BLOCK.findall("".join(lines[start:end]))
    return blocks


def _in_code(lines: list[str], n: int) -> bool:
    return sum(1 for line in lines[:n] if line.startswith("```")) % 2 == 1


def test_the_readme_tour_runs_as_written(local_stack: LocalStack, tmp_path: Path) -> None:
    blocks = tour_blocks((ROOT / "README.md").read_text(encoding="utf-8"))
    assert len(blocks) >= 9, "the tour's examples were found"
    script = "\n".join(blocks)
    for written, actual in (
        ("http://127.0.0.1:3000", local_stack.url),
        (DEFAULT_ROOT_KEY, local_stack.root_key),
        (DEFAULT_ADMIN_KEY, local_stack.admin_key),
        (DEFAULT_DEMO_KEY, local_stack.chat_key),
    ):
        script = script.replace(written, actual)
    calls = len(re.findall(r"(?:^|\$\(|\| )\s*curl ", script, re.M))
    statuses = tmp_path / "statuses"
    done = subprocess.run(
        ["bash", "-c", f"exec 3>{statuses}\n{PRELUDE}{script}"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, f"the tour stopped:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    codes = statuses.read_text().split()
    assert len(codes) == calls, (codes, calls)
    assert all(code.startswith("2") for code in codes), f"{codes}\n{done.stdout[-6000:]}"
    # What the tour shows works offline: the new tenant's bot answered from its knowledge base.
    assert re.search(r'"reply":\s*"[^"]*Monday to Friday', done.stdout), done.stdout[-6000:]


def test_a_tenant_without_any_credential_chats_with_the_offline_upstream(local_stack: LocalStack) -> None:
    created = local_stack.request("POST", "/v1/admin/tenants", key=local_stack.root_key, json={"name": "Offline"})
    assert created.status_code == 201, created.text
    tenant = created.json()["id"]
    issued = local_stack.request("POST", f"/v1/admin/tenants/{tenant}/keys", key=local_stack.root_key)
    assert issued.status_code == 201, issued.text
    admin = issued.json()["key"]
    bot = {"id": "faq", "knowledge_base": "Opening hours: Monday to Friday, 9:00-18:00."}
    assert local_stack.request("POST", "/v1/bots", key=admin, json=bot).status_code == 201
    assert local_stack.request("GET", "/v1/credentials", key=admin).json()["data"] == []
    answer = local_stack.request(
        "POST", "/v1/bots/faq/chat", key=admin, json={"message": "What are the opening hours?"}
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["source"] == "model" and "Monday to Friday" in answer.json()["reply"]
    assert answer.json()["model"].startswith("offline-")
