"""The committed OpenAPI document states what Atende really answers: statuses, error envelopes, chat schemas."""

from __future__ import annotations

from typing import Any

import pytest

from atende.web.docs import openapi_document

ENVELOPE = {"$ref": "#/components/schemas/ErrorEnvelope"}


def _operations() -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, operations in openapi_document()["paths"].items()
        for method, operation in operations.items()
    ]


@pytest.mark.parametrize(("method", "path", "operation"), _operations(), ids=lambda v: v if isinstance(v, str) else "")
def test_every_error_status_of_every_operation_has_the_error_envelope(
    method: str, path: str, operation: dict[str, Any]
) -> None:
    responses = operation["responses"]
    assert "422" not in responses, "Atende answers invalid requests with 400, never 422"
    assert {"401", "403", "429"} <= set(responses), "every keyed route: the authorizer, scopes, usage plans"
    for status, response in responses.items():
        assert "x-request-id" in response.get("headers", {}), f"{method} {path} {status}"
        if int(status) >= 400:
            assert response["content"]["application/json"]["schema"] == ENVELOPE, f"{method} {path} {status}"
    if method in {"POST", "PUT", "PATCH"}:
        assert {"400", "413", "415"} <= set(responses), "any body can be malformed, too large, or not JSON"


def test_creating_routes_document_201() -> None:
    created = {path for method, path, op in _operations() if method == "POST" and "201" in op["responses"]}
    assert {"/v1/bots", "/v1/keys", "/v1/admin/tenants", "/v1/admin/tenants/{tenant}/keys"} <= created


def test_both_chat_routes_have_answer_schemas_and_the_idempotency_key() -> None:
    paths = openapi_document()["paths"]
    completions = paths["/v1/chat/completions"]["post"]
    webhook = paths["/v1/bots/{bot}/chat"]["post"]
    assert set(completions["responses"]["200"]["content"]) == {"application/json", "text/event-stream"}
    assert completions["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ChatCompletion"
    }
    assert webhook["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/WebhookChatAnswer"
    }
    for operation in (completions, webhook):
        headers = {p["name"].lower() for p in operation["parameters"] if p["in"] == "header"}
        assert "idempotency-key" in headers
        assert "409" in operation["responses"] and "Retry-After" in operation["responses"]["409"]["headers"]
        assert "Idempotent-Replayed" in operation["responses"]["200"]["headers"]
    schemas = openapi_document()["components"]["schemas"]
    assert {"reply", "handoff", "request_id", "choices"} <= set(schemas["WebhookChatAnswer"]["properties"])


def test_every_patch_documents_the_merge_patch_media_type_with_its_json_schema() -> None:
    patches = {path: ops["patch"] for path, ops in openapi_document()["paths"].items() if "patch" in ops}
    assert "/v1/bots/{bot}" in patches
    for path, operation in patches.items():
        content = operation["requestBody"]["content"]
        assert content.get("application/merge-patch+json") == content["application/json"], path
