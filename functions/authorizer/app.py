"""Authorizer function: API key → tenant and scopes in the request context (REQUEST authorizer)."""

from __future__ import annotations

from aws_lambda_powertools.utilities.data_classes import event_source
from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
    APIGatewayAuthorizerRequestEvent,
    APIGatewayAuthorizerResponse,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from atende.access.authenticate import authenticate
from atende.access.keys import key_from_request
from atende.platform.errors import Unauthenticated
from atende.platform.observability import logger


@event_source(data_class=APIGatewayAuthorizerRequestEvent)
@logger.inject_lambda_context(clear_state=True, log_event=False)
def lambda_handler(event: APIGatewayAuthorizerRequestEvent, context: LambdaContext) -> dict:
    key, from_query = key_from_request(dict(event.headers or {}), dict(event.query_string_parameters or {}))
    try:
        caller = authenticate(key, from_query=from_query)
    except Unauthenticated as refused:
        logger.info("key refused", extra={"reason": refused.message, "key_prefix": (key or "")[:12]})
        # This exact message makes API Gateway answer 401 (the UNAUTHORIZED gateway response).
        raise Exception("Unauthorized") from None
    logger.append_keys(tenant_id=caller.tenant_id, key_prefix=caller.key_prefix)
    # Allow every route: handlers check scopes, so one policy fits every path the key may call.
    policy = APIGatewayAuthorizerResponse.from_route_arn(event.method_arn, caller.key_id, caller.to_context())
    policy.allow_all_routes()
    return policy.asdict()
