"""Test helpers shared by the integration and e2e suites: an API client, tenant factories, and the kernel's count of
connections refused by a full accept queue (what a timed test checks before blaming the code)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from werkzeug.test import Client


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    text: str

    @property
    def json(self) -> Any:
        return json.loads(self.text)

    @property
    def error(self) -> dict[str, Any]:
        """The OpenAI error envelope's inner object; fails the test if the answer is not one."""
        body = self.json
        assert set(body) == {"error"}, body
        assert {"message", "type", "param", "code"} <= set(body["error"]), body
        return body["error"]


class ApiClient:
    """Calls the API Gateway emulator in-process (routes from template.yaml, the real authorizer and handlers)."""

    def __init__(self, wsgi_app: Any) -> None:
        self.client = Client(wsgi_app)

    def call(
        self,
        method: str,
        path: str,
        *,
        key: str | None = None,
        json_body: Any = None,
        data: str | bytes | None = None,
        headers: dict[str, str] | None = None,
        query: dict[str, str] | None = None,
    ) -> Answer:
        all_headers = dict(headers or {})
        if key is not None:
            all_headers.setdefault("Authorization", f"Bearer {key}")
        if json_body is not None:
            data = json.dumps(json_body)
            all_headers.setdefault("Content-Type", "application/json")
        response = self.client.open(path, method=method, data=data, headers=all_headers, query_string=query)
        return Answer(response.status_code, dict(response.headers), response.get_data(as_text=True))


@dataclass
class TenantHandle:
    id: str
    admin_key: str
    api: ApiClient

    def call(self, method: str, path: str, **kwargs: Any) -> Answer:
        kwargs.setdefault("key", self.admin_key)
        return self.api.call(method, path, **kwargs)

    def new_key(self, scopes: list[str], **extra: Any) -> str:
        answer = self.call("POST", "/v1/keys", json_body={"label": "test", "scopes": scopes, **extra})
        assert answer.status == 201, answer.text
        return str(answer.json["key"])


def create_tenant(api: ApiClient, root_key: str, **fields: Any) -> TenantHandle:
    tenant_id = fields.pop("id", None) or f"t{uuid.uuid4().hex[:10]}"
    created = api.call("POST", "/v1/admin/tenants", key=root_key, json_body={"id": tenant_id, "name": "Test", **fields})
    assert created.status == 201, created.text
    issued = api.call("POST", f"/v1/admin/tenants/{tenant_id}/keys", key=root_key, json_body={"scopes": ["admin"]})
    assert issued.status == 201, issued.text
    return TenantHandle(tenant_id, issued.json["key"], api)


CHAT_KNOWLEDGE_BASE = """Envíos: el envío estándar tarda de 3 a 5 días hábiles y cuesta $4.990.

Devoluciones: tienes 30 días para devolver una prenda sin uso y con etiquetas.

Tallas: trabajamos de la XS a la XXL."""


@dataclass
class ChatSetup:
    """A tenant whose `openai` credential points at the fake upstream, a bot `shop`, and a key with the `chat` and
    `conversations` scopes (so tests read back what a turn stored)."""

    tenant: TenantHandle
    key: str
    upstream: Any

    def chat(self, body: Any, bot: str = "shop", **kwargs: Any) -> Answer:
        return self.tenant.api.call("POST", f"/v1/bots/{bot}/chat", key=self.key, json_body=body, **kwargs)

    def completions(self, body: Any, **kwargs: Any) -> Answer:
        return self.tenant.api.call("POST", "/v1/chat/completions", key=self.key, json_body=body, **kwargs)

    def chat_requests(self) -> list[Any]:
        return [r for r in self.upstream.requests if r.path.endswith("/chat/completions")]


def make_bot(tenant: TenantHandle, bot_id: str = "shop", **settings: Any) -> None:
    body = {
        "id": bot_id,
        "rules": "Eres Lía, asistente de una tienda de ropa.",
        "knowledge_base": CHAT_KNOWLEDGE_BASE,
        "prompts": {"breve": "Responde en dos frases."},
        **settings,
    }
    answer = tenant.call("POST", "/v1/bots", json_body=body)
    assert answer.status == 201, answer.text


def chat_setup(tenant: TenantHandle, upstream: Any, **bot_settings: Any) -> ChatSetup:
    credential = {"api_key": "sk-test-primary-0000", "base_url": upstream.base_url}
    assert tenant.call("PUT", "/v1/credentials/openai", json_body=credential).status == 200
    make_bot(tenant, **bot_settings)
    return ChatSetup(tenant, tenant.new_key(["chat", "conversations"]), upstream)


def listen_overflows() -> int | None:
    """Connections this machine's listeners refused because their accept queue was full (Linux; None elsewhere):
    each costs its client a SYN retransmission, a second, which the run's timings would show as lateness."""
    try:
        lines = Path("/proc/net/netstat").read_text().splitlines()
    except OSError:
        return None
    for names, values in zip(lines[::2], lines[1::2], strict=False):
        if names.startswith("TcpExt:"):
            fields = dict(zip(names.split()[1:], values.split()[1:], strict=True))
            return int(fields.get("ListenOverflows", 0))
    return None
