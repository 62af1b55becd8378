"""The resolver factory every function uses: validation on, OpenAI-style error envelopes, JSON-only bodies."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)

from atende.auth import Caller
from atende.errors import AtendeError, InvalidRequest, NotFound, PayloadTooLarge, UnsupportedMediaType
from atende.observability import logger

MAX_BODY_BYTES = 256 * 1024  # generous for a chat turn; a 1 MB message is refused before parsing
_BODY_METHODS = {"POST", "PUT", "PATCH"}


def error_response(error: AtendeError) -> Response:
    return Response(
        status_code=error.status,
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps(error.envelope(), ensure_ascii=False),
        headers=error.headers,
    )


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON answer; Powertools serializes (and validates against the route's `Response[Model]`) the body."""
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body, headers=headers or {})


def describe_validation_errors(errors: Sequence[Any]) -> InvalidRequest:
    """Turn pydantic's error list into one readable message naming the first offending field."""
    parts, first_param = [], None
    for error in errors:
        loc = [str(p) for p in error.get("loc", ()) if p not in ("body", "query", "path", "header")]
        param = ".".join(loc) or None
        if error.get("type") == "json_invalid":
            detail = (error.get("ctx") or {}).get("error", "malformed JSON")
            return InvalidRequest(f"The request body is not valid JSON ({detail}).", param="body", code="invalid_json")
        if error.get("type") == "missing" and param is None:
            return InvalidRequest("The request needs a JSON body.", param="body", code="missing_body")
        message = error.get("msg", "invalid value")
        if error.get("type") == "extra_forbidden":
            message = "unknown field"
        parts.append(f"{param}: {message}" if param else message)
        first_param = first_param or param
    return InvalidRequest("Invalid request: " + "; ".join(parts[:5]), param=first_param, code="invalid_value")


def _json_bodies_only(app: APIGatewayRestResolver, next_middleware: NextMiddleware) -> Response:
    """Refuse non-JSON and oversized bodies before any parsing, with a clear 415/413."""
    event = app.current_event
    if event.http_method in _BODY_METHODS:
        content_type = (event.headers.get("content-type") or "").split(";")[0].strip().lower()
        if content_type and content_type != "application/json" and not content_type.endswith("+json"):
            return error_response(
                UnsupportedMediaType(
                    f"Send JSON with 'Content-Type: application/json' (got '{content_type}').", param="Content-Type"
                )
            )
        if len(event.body or "") > MAX_BODY_BYTES:
            return error_response(
                PayloadTooLarge(f"The request body is over {MAX_BODY_BYTES // 1024} KB.", param="body")
            )
    return next_middleware(app)


def make_resolver(*, strip_prefixes: list[str] | None = None) -> APIGatewayRestResolver:
    """An API Gateway REST resolver with pydantic validation and every error in OpenAI's envelope."""
    app = APIGatewayRestResolver(enable_validation=True, strip_prefixes=strip_prefixes)  # type: ignore[arg-type]
    app.use(middlewares=[_json_bodies_only])

    @app.exception_handler(AtendeError)
    def _domain_error(error: AtendeError) -> Response:
        if error.status >= 500:
            logger.warning("answered with an error", extra={"status": error.status, "error_code": error.code})
        return error_response(error)

    @app.exception_handler([RequestValidationError, RequestUnsupportedContentType])
    def _validation_error(error: RequestValidationError) -> Response:
        return error_response(describe_validation_errors(error.errors()))

    @app.exception_handler(NotFoundError)
    def _no_route(_: NotFoundError) -> Response:
        event = app.current_event
        return error_response(NotFound(f"No route {event.http_method} {event.path}.", code="unknown_route"))

    @app.exception_handler(Exception)
    def _unexpected(error: Exception) -> Response:
        logger.exception("unexpected error")
        return error_response(AtendeError("Atende hit an internal error; the request was not applied."))

    return app


def caller(app: APIGatewayRestResolver) -> Caller:
    """The identity the authorizer put in the request context (the only identity handlers trust)."""
    context = (app.current_event.raw_event.get("requestContext") or {}).get("authorizer") or {}
    return Caller.from_context(context)


def header(app: APIGatewayRestResolver, name: str) -> str | None:
    value = app.current_event.headers.get(name.lower()) or app.current_event.headers.get(name)
    return value.strip() if isinstance(value, str) else None
