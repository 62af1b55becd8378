"""Chat function: the webhook form, the OpenAI-compatible completions endpoint, and conversation reads."""

from __future__ import annotations

import time
from typing import Annotated, Any
from urllib.parse import unquote

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Body, Header, Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from atende.access.keys import Caller, Scope
from atende.access.standing import require_standing
from atende.chat.conversations import bot_model, bot_models, delete_conversation, read_conversation
from atende.chat.degraded import run_turn_or_handoff, storage_handoff, webhook_soft_limit
from atende.chat.idempotency import MAX_KEY_LENGTH, StoredAnswer, register_context, run_once
from atende.chat.requests import from_completions, from_webhook
from atende.chat.responses import atende_headers, completion_answer, sse_stream, wants_json_reply, webhook_answer
from atende.chat.turn import run_turn, turn_deadline
from atende.chat.turns import TurnRequest, TurnResult
from atende.models.answers import ChatCompletion, ChatCompletionChunk, WebhookChatAnswer
from atende.models.chat import ChatCompletionRequest, WebhookChatRequest
from atende.models.webhook_inputs import conversation_id_from_path
from atende.platform.deadline import Deadline, bounded
from atende.platform.errors import AtendeError
from atende.platform.observability import logger, tracer
from atende.platform.settings import get_settings
from atende.providers.tokens import warm
from atende.web import statuses
from atende.web.http import (
    REQUEST_ID_HEADER,
    header,
    json_response,
    make_resolver,
    request_caller,
    serialize_json,
)
from atende.web.statuses import documented

app = make_resolver(webhook_resources=frozenset({"/v1/bots/{bot}/chat"}))  # also forms and text/plain
warm()  # load the tokenizer at init (SnapStart snapshots it), not on the first turn

SSE, JSON = "text/event-stream", content_types.APPLICATION_JSON
BotId = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
# A conversation id percent-encoded (any printable text up to 128 characters, so up to 12 bytes each encoded).
ConversationSegment = Annotated[
    str,
    Path(
        max_length=1536,
        description="The conversation id, percent-encoded: any printable text up to 128 characters "
        "(`%2B5491100000000` for `+5491100000000`, `Mar%C3%ADa%20Jos%C3%A9` for `María José`).",
    ),
]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description=f"Retry safely (up to {MAX_KEY_LENGTH} printable characters): the same key within 24 h is "
        "answered with the first answer, byte for byte and billed once (`Idempotent-Replayed: true`); while the "
        "first is still being answered, a 409 with `Retry-After`. `X-Idempotency-Key` works too.",
    ),
]


def _request_id() -> str:
    return str(app.current_event.request_context.request_id)


def _idempotency_key(declared: str | None) -> str | None:
    return declared or header(app, "X-Idempotency-Key")


def _turn_caller() -> tuple[Caller, float]:
    """The caller of a turn and when the function got it: the key check runs inside the default deadline (its
    DynamoDB read bounded like the turn's own), and the turn's deadline counts from the same moment."""
    arrived = time.monotonic()
    with bounded(Deadline(get_settings().webhook_deadline_seconds, started=arrived)):
        who = request_caller(app)
    who.require(Scope.CHAT)
    return who, arrived


def _sent(answer: StoredAnswer) -> Response[Any]:
    """The answer's very bytes; a replay says so and names the request whose answer it repeats."""
    headers = {**answer.headers, **({"Cache-Control": "no-cache"} if answer.content_type == SSE else {})}
    if answer.replayed:
        headers["Idempotent-Replayed"] = "true"
        if answer.request_id:
            headers[REQUEST_ID_HEADER] = answer.request_id
    return Response(status_code=answer.status, content_type=answer.content_type, body=answer.body, headers=headers)


@app.post(
    "/v1/bots/<bot>/chat",
    tags=["chat"],
    responses=documented(
        200, 404, 409, body=True, content={JSON: {"model": WebhookChatAnswer}}, ok_headers=statuses.REPLAYED
    ),
)
def webhook_chat(
    bot: BotId, body: Annotated[WebhookChatRequest, Body()], idempotency_key: IdempotencyKey = None
) -> Response[Any]:
    """One turn in flat JSON: send `message` (and a `conversation_id` to keep memory); read `reply`."""
    who, arrived = _turn_caller()
    request_id = _request_id()
    turn = from_webhook(who.tenant_id, bot, request_id, body)
    turn.started = arrived
    fingerprint = {"route": "webhook", "bot": bot, "body": body.model_dump(mode="json")}

    def answer(result: TurnResult | None = None) -> StoredAnswer:
        shaped = _webhook_answer(turn, bot, body, result)
        return StoredAnswer(serialize_json(shaped), content_types.APPLICATION_JSON, request_id)

    def unrecorded(error: AtendeError) -> StoredAnswer | None:  # no idempotency record: the turn did not run
        handed_off = storage_handoff(turn, error)
        return None if handed_off is None else answer(handed_off)

    with bounded(turn_deadline(turn)):  # the idempotency record's calls too
        return _sent(
            run_once(who.tenant_id, _idempotency_key(idempotency_key), fingerprint, answer, on_unrecorded=unrecorded)
        )


def _webhook_answer(
    turn: TurnRequest, bot: str, body: WebhookChatRequest, result: TurnResult | None = None
) -> dict[str, Any]:
    if result is None:
        result = run_turn_or_handoff(turn)  # first: the soft limit read after it counts this turn's spend
    soft_limit = webhook_soft_limit(turn)
    return webhook_answer(
        result,
        bot,
        include_history=body.return_history,
        include_raw=body.raw,
        soft_limit=soft_limit,
        json_reply=wants_json_reply(turn),
    )


@app.post(
    "/v1/chat/completions",
    tags=["chat"],
    responses=documented(
        200,
        404,
        409,
        body=True,
        content={JSON: {"model": ChatCompletion}, SSE: {"model": ChatCompletionChunk}},
        ok_headers=statuses.REPLAYED,
    ),
)
def chat_completions(
    body: Annotated[ChatCompletionRequest, Body()], idempotency_key: IdempotencyKey = None
) -> Response[Any]:
    """OpenAI's chat completions. `model: "bot:<id>"` runs a bot; any other model is a plain, budgeted call."""
    who, arrived = _turn_caller()
    request_id = _request_id()
    turn = from_completions(who.tenant_id, request_id, body)
    turn.started = arrived

    def answer() -> StoredAnswer:
        completion = completion_answer(run_turn(turn), body.model)
        headers = atende_headers(completion)
        if body.stream:  # a replay of a stream is the same stream
            include_usage = bool((body.stream_options or {}).get("include_usage"))
            return StoredAnswer(sse_stream(completion, include_usage=include_usage), SSE, request_id, headers=headers)
        return StoredAnswer(serialize_json(completion), content_types.APPLICATION_JSON, request_id, headers=headers)

    fingerprint = {"route": "completions", "body": body.model_dump(mode="json")}
    with bounded(turn_deadline(turn)):  # the idempotency record's calls too
        return _sent(run_once(who.tenant_id, _idempotency_key(idempotency_key), fingerprint, answer))


@app.get("/v1/models", tags=["chat"], responses=documented(200))
def list_models() -> Response[dict]:
    """The tenant's bots as models (`bot:<id>`), so SDK model pickers list them."""
    who = request_caller(app)
    who.require(Scope.CHAT)
    return json_response({"object": "list", "data": bot_models(who.tenant_id)})


@app.get("/v1/models/<model>", tags=["chat"], responses=documented(200, 400, 404))
def get_model(model: Annotated[str, Path(max_length=128)]) -> Response[dict]:
    """One bot as a model, as `client.models.retrieve("bot:<id>")` asks for it."""
    who = request_caller(app)
    who.require(Scope.CHAT)
    return json_response(bot_model(who.tenant_id, unquote(model)))


@app.get(
    "/v1/bots/<bot>/conversations/<conversation>", tags=["conversations"], responses=documented(200, 400, 403, 404)
)
def get_conversation(
    bot: BotId,
    conversation: ConversationSegment,
    limit: Annotated[int, Query(ge=1, le=1000, description="At most this many messages in the page.")] = 1000,
    cursor: Annotated[
        str | None, Query(max_length=64, pattern=r"^[A-Za-z0-9_-]+$", description="`next_cursor` of the last page.")
    ] = None,
) -> Response[dict]:
    """A stored conversation, oldest first, in pages: `limit` messages or about 5 MB, then `next_cursor`.

    Needs the `conversations` scope (admin keys have it): a chat key keeps only its own turns' history.
    """
    who = request_caller(app)
    who.require(Scope.CONVERSATIONS)
    require_standing(who)
    conversation_id = conversation_id_from_path(conversation)
    return json_response(read_conversation(who.tenant_id, bot, conversation_id, limit=limit, cursor=cursor))


@app.delete(
    "/v1/bots/<bot>/conversations/<conversation>", tags=["conversations"], responses=documented(200, 400, 403, 404)
)
def erase_conversation(bot: BotId, conversation: ConversationSegment) -> Response[dict]:
    """Erase a stored conversation (right to erasure); needs the `conversations` scope (admin keys have it)."""
    who = request_caller(app)
    who.require(Scope.CONVERSATIONS)
    require_standing(who)
    return json_response(delete_conversation(who, bot, conversation_id_from_path(conversation)))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True, log_event=False)
@tracer.capture_lambda_handler(capture_response=False)  # answers carry end users' text: never in traces
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    register_context(context)
    return app.resolve(event, context)
