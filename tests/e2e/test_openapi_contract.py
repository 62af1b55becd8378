"""Schemathesis over every operation of the OpenAPI document, with each kind of key, against the running stack.

Bounded and deterministic: a few derandomized examples per operation and generation mode, no example database.
A failure names the key kind, the operation and what was wrong with its answer; a status an operation answers
but does not document is fixed by adding it to the route's `responses=documented(...)`.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from tests.e2e.conftest import LocalStack

EXAMPLES_PER_MODE = 2  # per operation, key kind and generation mode: 36 operations x 4 keys x 2 modes x 2
UPSTREAM_STATUSES = {502, 503, 504}  # the documented 5xx: the provider or a dependency failed, not Atende
KEY_KINDS = ["root", "admin", "chat", "none"]
CONTRACT_BOT = "0"  # the shortest bot id a derandomized run generates first: chat turns then really run


@dataclass
class Findings:
    problems: list[str] = field(default_factory=list)
    seen: dict[str, set[int]] = field(default_factory=dict)

    def add(self, label: str, message: str) -> None:
        if len(self.problems) < 200:
            self.problems.append(f"{label}: {message}")


@pytest.fixture(scope="module")
def contract_keys(local_stack: LocalStack) -> dict[str, str | None]:
    """Keys of fresh tenants: whatever the run writes (limits, bots, credentials) stays out of the demo tenant.

    The admin key's tenant is not the chat key's, so a credential the run writes never redirects the chat turns:
    they keep reaching the stack's offline upstream (never the internet).
    """
    root = local_stack.root_key
    found = re.search(r"offline upstream at (\S+)", local_stack.stdout)
    assert found, "the stack names its offline upstream\n" + local_stack.output()
    admin_tenant, chat_tenant = f"ct{uuid.uuid4().hex[:10]}", f"cc{uuid.uuid4().hex[:10]}"
    keys: dict[str, str | None] = {"root": root, "none": None}
    for tenant, kind, scopes in ((admin_tenant, "admin", ["admin"]), (chat_tenant, "chat", ["admin", "chat"])):
        created = local_stack.request("POST", "/v1/admin/tenants", key=root, json={"id": tenant, "name": "Contract"})
        assert created.status_code == 201, created.text
        issued = local_stack.request("POST", f"/v1/admin/tenants/{tenant}/keys", key=root, json={"scopes": scopes})
        assert issued.status_code == 201, issued.text
        keys[kind] = issued.json()["key"]
    chat_admin = keys["chat"]
    credential = {"api_key": "sk-offline-contract", "base_url": found.group(1)}
    put = local_stack.request("PUT", "/v1/credentials/openai", key=chat_admin, json=credential)
    assert put.status_code == 200, put.text
    bot = local_stack.request(
        "POST", "/v1/bots", key=chat_admin, json={"id": CONTRACT_BOT, "knowledge_base": "Tienda."}
    )
    assert bot.status_code == 201, bot.text
    chat = local_stack.request("POST", "/v1/keys", key=chat_admin, json={"label": "contract", "scopes": ["chat"]})
    assert chat.status_code == 201, chat.text
    keys["chat"] = chat.json()["key"]
    return keys


def _schema(local_stack: LocalStack) -> Any:
    document = requests.get(f"{local_stack.url}/openapi.json", timeout=30).json()
    return schemathesis.openapi.from_dict(document)


def _check(case: Any, response: Any, label: str, findings: Findings) -> None:
    status = response.status_code
    findings.seen.setdefault(label, set()).add(status)
    documented = set(case.operation.definition.raw.get("responses", {}))
    if status >= 500 and status not in UPSTREAM_STATUSES:
        findings.add(label, f"server error {status}: {response.text[:300]}")
    if str(status) not in documented:
        findings.add(
            label,
            f"answered {status}, which it does not document (documented: {sorted(documented)}) "
            f"- add {status} to the route's responses=documented(...): {response.text[:200]}",
        )
        return
    try:
        case.validate_response(response, checks=[response_schema_conformance, content_type_conformance])
    except AssertionError as failure:  # schemathesis raises its failures as AssertionError subclasses
        findings.add(label, f"{status} does not match its schema: {str(failure)[:400]}")
    if "x-request-id" not in {name.lower() for name in response.headers}:
        findings.add(label, f"{status} without x-request-id")


BOUNDED = settings(
    max_examples=EXAMPLES_PER_MODE,
    derandomize=True,
    database=None,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],  # no shrinking: a finding is reported as found
    suppress_health_check=list(HealthCheck),
)


def _sender(url: str, session: requests.Session, headers: dict[str, str], label: str, findings: Findings) -> Any:
    def send(case: Any) -> None:
        response = case.call(base_url=url, session=session, headers=headers, timeout=60)
        _check(case, response, label, findings)

    return send


@pytest.mark.parametrize("key_kind", KEY_KINDS)
def test_every_operation_answers_only_documented_statuses_and_schemas(
    local_stack: LocalStack, contract_keys: dict[str, str | None], key_kind: str
) -> None:
    schema, findings = _schema(local_stack), Findings()
    key = contract_keys[key_kind]
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    session = requests.Session()
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 30, "the document lists every operation"
    for operation in operations:
        label = f"{key_kind} key, {operation.method.upper()} {operation.path}"
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            send = _sender(local_stack.url, session, headers, label, findings)
            try:
                given(case=operation.as_strategy(generation_mode=mode))(BOUNDED(send))()
            except Unsatisfiable:  # a negative mode with nothing to negate
                continue
    assert not findings.problems, f"{len(findings.problems)} contract problem(s):\n" + "\n".join(findings.problems)
