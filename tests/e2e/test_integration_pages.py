"""Every request shown on the `docs/integrations/` pages, sent as written to the running local stack.

A page marks a request for this test with an HTML comment right before a fenced code block:

    <!-- atende-e2e: POST /v1/bots/demo/chat; content-type: application/x-www-form-urlencoded; expect: reply -->
    ```
    message=Hola
    conversation_id=zap-1
    ```

- the first item is the method and path (the demo tenant's routes; the demo chat key is sent as a Bearer token);
- `content-type` (default `application/json`): for a form, each line of the block is one `name=value` pair,
  joined with `&` (values as a tool sends them, already percent-encoded where needed); any other body is sent
  as the block's text exactly;
- `expect`: comma-separated fields of the JSON answer that must be present and not null, dotted for nesting
  (`choices.0.message.content`);
- `status` (default 200); `header: Name=Value` (repeatable) adds a request header.

Pages without markers (or blocks that are not requests) are left alone; any page of the folder can add some.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import LocalStack

pytestmark = pytest.mark.e2e

PAGES = Path(__file__).resolve().parents[2] / "docs" / "integrations"
TOOL_PAGES = ("weni-rapidpro.md", "typebot.md", "n8n.md", "zapier.md", "make.md", "qflow.md")
MARKED_BLOCK = re.compile(r"<!--\s*atende-e2e:\s*(?P<spec>.*?)-->\s*\n```[^\n]*\n(?P<body>.*?)\n```", re.DOTALL)


@dataclass
class PageRequest:
    page: str
    method: str
    path: str
    body: str
    content_type: str = "application/json"
    expect: list[str] = field(default_factory=list)
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.page}:{self.method} {self.path}:{self.body[:30]!r}"

    def payload(self) -> str:
        if self.content_type.split(";")[0].strip().lower() == "application/x-www-form-urlencoded":
            return "&".join(line.strip() for line in self.body.splitlines() if line.strip())
        return self.body


def page_requests(page: Path) -> list[PageRequest]:
    found = []
    for match in MARKED_BLOCK.finditer(page.read_text(encoding="utf-8")):
        first, *options = [item.strip() for item in match["spec"].split(";") if item.strip()]
        method, path = first.split(maxsplit=1)
        request = PageRequest(page.name, method.upper(), path, match["body"])
        for option in options:
            name, _, value = option.partition(":")
            name, value = name.strip().lower(), value.strip()
            if name == "content-type":
                request.content_type = value
            elif name == "expect":
                request.expect = [item.strip() for item in value.split(",") if item.strip()]
            elif name == "status":
                request.status = int(value)
            elif name == "header":
                header, _, header_value = value.partition("=")
                request.headers[header.strip()] = header_value.strip()
            else:
                raise AssertionError(f"{page.name}: unknown atende-e2e option {name!r}")
        found.append(request)
    return found


ALL_REQUESTS = [request for page in sorted(PAGES.glob("*.md")) for request in page_requests(page)]


def _field(body: Any, dotted: str) -> Any:
    value = body
    for part in dotted.split("."):
        if isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        elif isinstance(value, dict) and part in value:
            value = value[part]
        else:
            raise AssertionError(f"the answer has no {dotted!r}: {body}")
    return value


@pytest.mark.parametrize("page", TOOL_PAGES)
def test_every_tool_page_shows_a_request_under_test(page: str) -> None:
    assert (PAGES / page).exists(), f"docs/integrations/{page} is missing"
    assert page_requests(PAGES / page), f"docs/integrations/{page} marks no request for this test"


@pytest.mark.parametrize("request_on_page", ALL_REQUESTS, ids=lambda r: r.id)
def test_a_documented_request_gets_the_documented_answer(local_stack: LocalStack, request_on_page: PageRequest) -> None:
    headers = {"Content-Type": request_on_page.content_type, **request_on_page.headers}
    if "Idempotency-Key" in headers:  # the stack lives for the session: one key per run, as a tool's run id would be
        headers["Idempotency-Key"] = f"{headers['Idempotency-Key']}-{uuid.uuid4().hex[:8]}"
    answer = local_stack.request(
        request_on_page.method,
        request_on_page.path,
        key=local_stack.chat_key,
        data=request_on_page.payload().encode("utf-8"),
        headers=headers,
    )
    assert answer.status_code == request_on_page.status, answer.text
    body = answer.json()
    for dotted in request_on_page.expect:
        assert _field(body, dotted) is not None, f"{dotted} is null in {body}"
