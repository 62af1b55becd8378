"""The statuses each route answers, for the OpenAPI document: one `responses=documented(...)` beside each route.

A route lists its success status and the errors it raises itself; the ones every keyed route can get (the
authorizer's 401, a scope's 403, a usage plan's 429, API Gateway's 502/504 and a store outage's 503) are added
here. A new status a route answers is one more number in its `documented(...)`.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

from atende.models.answers import ErrorEnvelope

EVERY_KEYED_ROUTE = (401, 403, 429, 502, 503, 504)
WITH_A_BODY = (400, 413, 415)  # malformed or invalid JSON, over 256 KB, not `application/json`

DESCRIPTIONS = {
    200: "OK",
    201: "Created",
    400: "Invalid request: the body, a parameter or a header; `param` names it.",
    401: "Missing or invalid API key (answered by API Gateway's authorizer).",
    403: "The key lacks the scope this route needs, or the tenant is suspended.",
    404: "No such resource, or it belongs to another tenant.",
    409: "A conflict: the resource exists, its version moved on, or the request's Idempotency-Key is still being "
    "answered (`idempotency_in_progress`, with `Retry-After`).",
    412: "`If-Match` names another version than the stored one.",
    413: "The request body is over 256 KB.",
    415: "The request body is not `application/json`.",
    428: "A replacing write needs a version: send `If-Match` or `version`.",
    429: "A rate, quota or spend limit (`Retry-After` when waiting helps).",
    502: "The model provider failed, or the function did (then API Gateway answers, with `x-should-retry: false`).",
    503: "A dependency (DynamoDB, the model provider) is unavailable; retry with backoff.",
    504: "A deadline passed: the turn's own, or API Gateway's 29 s (`x-should-retry: false`).",
}
REQUEST_ID: dict[str, Any] = {
    "x-request-id": {"description": "The request's id (the one in the logs).", "schema": {"type": "string"}}
}
RETRY_AFTER: dict[str, Any] = {
    "Retry-After": {"description": "Seconds to wait before retrying.", "schema": {"type": "string"}}
}
REPLAYED: dict[str, Any] = {
    "Idempotent-Replayed": {
        "description": "`true` when this is the stored answer of an earlier request with the same Idempotency-Key.",
        "schema": {"type": "string", "enum": ["true"]},
    }
}


def documented(
    ok: int,
    *errors: int,
    body: bool = False,
    content: dict[str, Any] | None = None,
    ok_headers: dict[str, Any] | None = None,
) -> dict[int, OpenAPIResponse]:
    """The `responses=` of a keyed route: `ok` (its schema from the return type, or `content`) and every error.

    `body=True` adds what any request body can get (400, 413, 415).
    """
    success: OpenAPIResponse = {"description": DESCRIPTIONS[ok], "headers": {**REQUEST_ID, **(ok_headers or {})}}
    if content is not None:
        success["content"] = content
    statuses = sorted({*errors, *EVERY_KEYED_ROUTE, *(WITH_A_BODY if body else ())})
    answers: dict[int, OpenAPIResponse] = {ok: success}
    for status in statuses:
        headers = {**REQUEST_ID, **(RETRY_AFTER if status in (409, 429) else {})}
        answers[status] = {
            "description": DESCRIPTIONS[status],
            "headers": headers,
            "content": {"application/json": {"model": ErrorEnvelope}},
        }
    return answers
