"""Moderate function: OpenAI-compatible moderation, its flat webhook form, and PII redaction."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from atende.access.keys import Caller, Scope
from atende.guards import moderation
from atende.guards.redaction import redact
from atende.models.moderation import (
    ModerateRequest,
    ModerateResponse,
    ModerationRequest,
    ModerationResponse,
    RedactRequest,
    RedactResponse,
    wire_input,
)
from atende.platform.observability import logger, tracer
from atende.web.http import caller, json_response, make_resolver
from atende.web.statuses import documented

app = make_resolver(webhook_resources=frozenset({"/v1/moderate"}))  # also forms and text/plain


def moderator() -> Caller:
    who = caller(app)
    who.require(Scope.MODERATE)
    return who


@app.post(
    "/v1/moderations",
    tags=["moderation"],
    responses=documented(200, body=True),
    summary="Classify text and images (OpenAI wire format)",
)
def create_moderation(body: Annotated[ModerationRequest, Body()]) -> Response[ModerationResponse]:
    who = moderator()
    return json_response(moderation.moderate(who.tenant_id, wire_input(body.input), body.model))


@app.post(
    "/v1/moderate",
    tags=["moderation"],
    responses=documented(200, body=True),
    summary="Classify text, flat answer for workflow tools",
)
def moderate_flat(body: Annotated[ModerateRequest, Body()]) -> Response[ModerateResponse]:
    who = moderator()
    return json_response(moderation.flatten(moderation.moderate(who.tenant_id, wire_input(body.input), body.model)))


@app.post(
    "/v1/redact", tags=["moderation"], responses=documented(200, body=True), summary="Mask PII with typed placeholders"
)
def redact_text(body: Annotated[RedactRequest, Body()]) -> Response[RedactResponse]:
    moderator()
    masked = redact(body.text, body.kinds)
    return json_response(RedactResponse(text=masked.text, counts=masked.counts, redacted=masked.found))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True, log_event=False)
@tracer.capture_lambda_handler(capture_response=False)  # answers carry end users' text: never in traces
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
