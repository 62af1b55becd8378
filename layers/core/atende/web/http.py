"""The resolver factory every function uses: validation on, OpenAI-style error envelopes, bodies checked first."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from itertools import takewhile
from typing import Any

from aws_lambda_powertools.event_handler import ApiGatewayResolver, APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.middlewares.openapi_validation import OpenAPIRequestValidationMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.event_handler.types import EventHandlerInstance
from botocore.exceptions import BotoCoreError, ClientError

from atende.access.authenticate import authenticate
from atende.access.keys import Caller, key_from_request
from atende.platform import aws
from atende.platform.errors import (
    AtendeError,
    InvalidRequest,
    NotFound,
    PayloadTooLarge,
    Unauthenticated,
    UnsupportedMediaType,
)
from atende.platform.observability import logger
from atende.web.bodies import (
    FORM,
    JSON,
    MERGE_PATCH,
    WEBHOOK_MEDIA_TYPES,
    form_fields,
    media_type,
    refuse_media_type,
    relabel_as_json,
)

MAX_BODY_BYTES = 256 * 1024  # generous for a chat turn; a 1 MB message is refused before validation
MAX_INSPECTED_BYTES = 4 * 1024 * 1024  # up to this size, a refused body is parsed to name the field at fault
_BODY_METHODS = {"POST", "PUT", "PATCH"}
_SOURCES = {"body", "query", "path", "header", "cookie", "form", "file"}
_NOT_AN_OBJECT = "The request body must be a JSON object."
_FIELD_SEGMENT = re.compile(r"[^\[\]()'\", ]+")  # a field or key, not a union member like literal['a','b']
REQUEST_ID_HEADER = "x-request-id"  # what the OpenAI SDKs read into `response._request_id`


def serialize_json(body: Any) -> str:
    """JSON as every Atende answer is written: compact, UTF-8 as is."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), default=str)


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
        source, *loc = [str(p) for p in error.get("loc", ())] or [""]
        if source not in _SOURCES:  # not Powertools' ("body" | "query" | "path" | "header", field, ...) form
            loc = [source, *loc]
        # Stop at the first segment that is not a field name: pydantic names union members in the location
        # (`response_format.literal['text','json']`), which would make a param no client can map to a field.
        fields = list(takewhile(_FIELD_SEGMENT.fullmatch, loc))
        param = ".".join(fields) or None
        if error.get("type") == "json_invalid":
            detail = (error.get("ctx") or {}).get("error", "malformed JSON")
            return InvalidRequest(f"The request body is not valid JSON ({detail}).", param="body", code="invalid_json")
        if error.get("type") == "missing" and not loc:
            return InvalidRequest("The request needs a JSON body.", param="body", code="missing_body")
        if not loc and source == "body":  # the body as a whole: `[]`, `"x"`, `3`
            return InvalidRequest(_NOT_AN_OBJECT, param="body", code="invalid_body")
        message = error.get("msg", "invalid value")
        if error.get("type") == "extra_forbidden":
            message = "unknown field"
        parts.append(f"{'.'.join(loc)}: {message}" if loc else message)
        first_param = first_param or param
    return InvalidRequest("Invalid request: " + "; ".join(parts[:5]), param=first_param, code="invalid_value")


def _refuse_malformed_body(app: ApiGatewayResolver, webhook_resources: frozenset[str]) -> Response | None:
    """A 415 / 413 / 400 for a body that is not JSON, too large, or not parseable; None when it is fine.

    Webhook resources also take a form or JSON labelled `text/plain` (what Zapier, n8n and Make send); either is
    rewritten into the JSON body validation reads, after the size check on the body as it came.

    Parsing here (Powertools caches `json_body`) turns every unparseable body into one clear 400, including
    the cases validation alone would answer with a 500 (invalid UTF-8, nesting deeper than the parser's
    recursion limit) and bodies sent to routes that declare none.
    """
    event = app.current_event
    if event.http_method not in _BODY_METHODS:
        return None
    received = media_type(event.headers.get("content-type"))
    accepted = WEBHOOK_MEDIA_TYPES if event.raw_event.get("resource") in webhook_resources else (JSON,)
    if event.http_method == "PATCH":
        accepted = (*accepted, MERGE_PATCH)
    if (refused := refuse_media_type(received, accepted)) is not None:
        return error_response(refused)
    body = event.body or ""
    size = len(body) * 3 // 4 if event.is_base64_encoded else len(body.encode("utf-8", "surrogatepass"))
    if size > MAX_BODY_BYTES:
        inspected = body if size <= MAX_INSPECTED_BYTES and not event.is_base64_encoded else ""
        return error_response(_too_large(inspected, is_form=received == FORM))
    if received and event.headers.get("content-type") != JSON:
        # Powertools matches `application/json` case-sensitively and knows no text/plain: hand it plain JSON.
        try:
            relabel_as_json(event.raw_event, received)
        except AtendeError as error:
            return error_response(error)
        for cached in ("json_body", "decoded_body"):
            event.__dict__.pop(cached, None)
    try:
        parsed = event.json_body  # parsed once here, cached for validation
    except UnicodeDecodeError:
        return error_response(InvalidRequest("The request body is not UTF-8.", param="body", code="invalid_json"))
    except RecursionError:
        return error_response(
            InvalidRequest("The request body is nested too deeply.", param="body", code="invalid_json")
        )
    except ValueError as error:
        detail = getattr(error, "msg", None) or "malformed JSON"
        return error_response(
            InvalidRequest(f"The request body is not valid JSON ({detail}).", param="body", code="invalid_json")
        )
    if parsed is not None and not isinstance(parsed, dict):
        # Every Atende body is an object; Powertools would otherwise take `[{...}]` as its first element.
        return error_response(InvalidRequest(_NOT_AN_OBJECT, param="body", code="invalid_body"))
    if (where := non_finite_path(parsed)) is not None:
        # Python's parser takes NaN, Infinity and 1e999; DynamoDB, pricing and JSON answers cannot hold them.
        return error_response(
            InvalidRequest(f"{where}: numbers must be finite (got NaN or Infinity).", param=where, code="invalid_value")
        )
    return None


def non_finite_path(value: Any) -> str | None:
    """The JSON path (`messages[0].content`) of the first NaN or infinite number in `value`, or None.

    Iterative: a body nested nearly as deep as the parser allows must not overflow the stack here.
    """
    pending: list[tuple[str, Any]] = [("", value)]
    while pending:
        path, item = pending.pop()
        if isinstance(item, float) and not math.isfinite(item):
            return path or "body"
        if isinstance(item, dict):
            children = [(f"{path}.{key}" if path else str(key), child) for key, child in item.items()]
        elif isinstance(item, list):
            children = [(f"{path}[{index}]", child) for index, child in enumerate(item)]
        else:
            continue
        pending.extend(reversed(children))  # popped in document order: the first one is named
    return None


def _too_large(body: str, *, is_form: bool = False) -> PayloadTooLarge:
    """413 naming the field that made the body too large, when the body is a JSON object or form we can still read."""
    limit = f"The request body is over {MAX_BODY_BYTES // 1024} KB"
    try:
        parsed = (form_fields(body) if is_form else json.loads(body)) if body else None
    except (ValueError, AtendeError):
        parsed = None
    if not isinstance(parsed, dict) or not parsed:
        return PayloadTooLarge(f"{limit}.", param="body")
    field = max(parsed, key=lambda name: len(json.dumps(parsed[name], ensure_ascii=False)))
    length = len(parsed[field]) if isinstance(parsed[field], str | list) else None
    detail = f" ({length:,} {'characters' if isinstance(parsed[field], str) else 'items'})" if length else ""
    return PayloadTooLarge(f"{field}: too large{detail}. {limit}.", param=field)


class _BodyCheckedValidation(OpenAPIRequestValidationMiddleware):
    """Powertools' request validation, preceded by the body checks (media type, size, parseable JSON)."""

    def __init__(self, webhook_resources: frozenset[str]) -> None:
        super().__init__()
        self.webhook_resources = webhook_resources

    def handler(self, app: EventHandlerInstance, next_middleware: NextMiddleware) -> Response:
        return _refuse_malformed_body(app, self.webhook_resources) or super().handler(app, next_middleware)

    def _get_body(self, app: EventHandlerInstance) -> dict[str, Any]:
        # Powertools parses only application/json as JSON; a merge patch is JSON too (checked above to be PATCH).
        if media_type(app.current_event.headers.get("content-type")) == MERGE_PATCH:
            return self._parse_json_data(app)
        return super()._get_body(app)


class AtendeResolver(APIGatewayRestResolver):
    """Powertools' REST resolver whose every answer, errors included, names its request in `x-request-id`."""

    def resolve(self, event: Any, context: Any) -> dict[str, Any]:
        answer = super().resolve(event, context)
        request_id = ((event or {}).get("requestContext") or {}).get("requestId")
        if request_id:
            with_request_id(answer, str(request_id))
        return answer


def with_request_id(answer: dict[str, Any], request_id: str) -> dict[str, Any]:
    """Adds `x-request-id` to a proxy answer unless the route set it (a replay names the request it repeats)."""
    single, multi = answer.get("headers") or {}, answer.get("multiValueHeaders") or {}
    if any(name.lower() == REQUEST_ID_HEADER for name in [*single, *multi]):
        return answer
    if "multiValueHeaders" in answer:
        answer["multiValueHeaders"] = {**multi, REQUEST_ID_HEADER: [request_id]}
    else:
        answer["headers"] = {**single, REQUEST_ID_HEADER: request_id}
    return answer


def make_resolver(
    *, strip_prefixes: list[str] | None = None, webhook_resources: frozenset[str] = frozenset()
) -> APIGatewayRestResolver:
    """An API Gateway REST resolver with pydantic validation and every error in OpenAI's envelope.

    `webhook_resources` are API Gateway resources (`/v1/bots/{bot}/chat`) that also take forms and text/plain.
    """
    app = AtendeResolver(
        enable_validation=True,
        strip_prefixes=strip_prefixes,  # type: ignore[arg-type]
        serializer=serialize_json,  # UTF-8 as is: "Lía", not "L\u00eda" (smaller answers, readable in no-code tools)
    )
    # Powertools runs request validation before any middleware added with `use`, so the body checks run
    # inside the validation middleware itself: otherwise a text/plain body would be "validated" first (400,
    # not 415), a form body parsed as a form, and an unparseable one answered with a 500.
    app._request_validation_middleware = _BodyCheckedValidation(webhook_resources)

    @app.exception_handler(AtendeError)
    def _domain_error(error: AtendeError) -> Response:
        if error.status >= 500:
            logger.warning("answered with an error", extra={"status": error.status, "error_code": error.code})
        return error_response(error)

    @app.exception_handler(RequestValidationError)
    def _validation_error(error: RequestValidationError) -> Response:
        return error_response(describe_validation_errors(error.errors()))

    @app.exception_handler(RequestUnsupportedContentType)
    def _unsupported_content_type(_: RequestUnsupportedContentType) -> Response:
        content_type = app.current_event.headers.get("content-type") or ""
        return error_response(
            UnsupportedMediaType(
                f"Send JSON with 'Content-Type: application/json' (got '{content_type}').", param="Content-Type"
            )
        )

    @app.exception_handler(NotFoundError)
    def _no_route(_: NotFoundError) -> Response:
        event = app.current_event
        return error_response(NotFound(f"No route {event.http_method} {event.path}.", code="unknown_route"))

    @app.exception_handler([BotoCoreError, ClientError])
    def _aws_error(error: Exception) -> Response:
        mapped = aws.unavailable(error)  # a timeout or throttling: 503/504, the client may retry
        return _domain_error(mapped) if mapped is not None else _unexpected(error)

    @app.exception_handler(Exception)
    def _unexpected(error: Exception) -> Response:
        logger.exception("unexpected error")
        request_id = app.current_event.request_context.request_id
        return error_response(AtendeError(f"Atende hit an internal error (request {request_id}); it is logged."))

    return app


def caller(app: APIGatewayRestResolver) -> Caller:
    """The identity the authorizer put in the request context (the only identity handlers trust)."""
    context = (app.current_event.raw_event.get("requestContext") or {}).get("authorizer") or {}
    return Caller.from_context(context)


def request_caller(app: APIGatewayRestResolver) -> Caller:
    """The caller behind the request's own key, on routes API Gateway does not authorize (the chat routes): the
    authorizer's code and per-container cache, in the function itself, so a turn is one invocation."""
    event = app.current_event
    key, from_query = key_from_request(dict(event.headers or {}), dict(event.query_string_parameters or {}))
    try:
        who = authenticate(key, from_query=from_query, root_allowed=False)
    except Unauthenticated as refused:
        logger.info("key refused", extra={"reason": refused.message, "key_prefix": (key or "")[:12]})
        raise
    logger.append_keys(tenant_id=who.tenant_id, key_prefix=who.key_prefix)
    return who


def header(app: APIGatewayRestResolver, name: str) -> str | None:
    value = app.current_event.headers.get(name.lower()) or app.current_event.headers.get(name)
    return value.strip() if isinstance(value, str) else None
