"""Chat function: the webhook form, the OpenAI-compatible completions endpoint, and conversation reads."""

from __future__ import annotations

from typing import Annotated, Any

from atende import chat
from atende.auth import Scope
from atende.chat_answers import completion_answer, sse_stream, webhook_answer
from atende.conversations import delete_conversation, read_conversation
from atende.http import caller, header, json_response, make_resolver
from atende.idempotency import register_context, run_once
from atende.models.chat import ChatCompletionRequest, ConversationId, WebhookChatRequest
from atende.observability import logger
from atende.store import stores
from atende.tokens import warm
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

app = make_resolver()
warm()  # load the tokenizer at init (SnapStart snapshots it), not on the first turn

BotId = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
SAMPLING = ("temperature", "top_p", "frequency_penalty", "presence_penalty", "max_tokens", "n")


def _request_id() -> str:
    return str(app.current_event.request_context.request_id)


def _idempotency_key() -> str | None:
    return header(app, "Idempotency-Key") or header(app, "X-Idempotency-Key")


@app.post("/v1/bots/<bot>/chat", tags=["chat"])
def webhook_chat(bot: BotId, body: Annotated[WebhookChatRequest, Body()]) -> Response[dict]:
    """One turn in flat JSON: send `message` (and a `conversation_id` to keep memory); read `reply`."""
    who = caller(app)
    who.require(Scope.CHAT)
    params: dict[str, Any] = {name: getattr(body, name) for name in SAMPLING if getattr(body, name) is not None}
    if body.response_format is not None:
        params["response_format"] = body.response_format
    turn = chat.TurnRequest(
        tenant_id=who.tenant_id,
        bot_id=bot,
        request_id=_request_id(),
        new_messages=[{"role": "user", "content": body.message}],
        conversation_id=body.conversation_id,
        use_history=body.use_history,
        client_history=[m.openai() for m in body.history] if body.history else None,
        extra_system=body.system,
        prompts=body.prompts,
        model=body.model,
        params=params,
    )
    answer = run_once(
        who.tenant_id,
        _idempotency_key(),
        body.model_dump(mode="json"),
        lambda: webhook_answer(chat.run_turn(turn), bot, include_history=body.return_history, include_raw=body.raw),
    )
    return json_response(answer)


@app.post("/v1/chat/completions", tags=["chat"])
def chat_completions(body: Annotated[ChatCompletionRequest, Body()]) -> Response[Any]:
    """OpenAI's chat completions. `model: "bot:<id>"` runs a bot; any other model is a plain, budgeted call."""
    who = caller(app)
    who.require(Scope.CHAT)
    bot_id = body.model.removeprefix("bot:") if body.model.startswith("bot:") else None
    messages = [m.openai() for m in body.messages]
    system = "\n\n".join(str(m.get("content") or "") for m in messages if m["role"] in ("system", "developer"))
    dialogue = [m for m in messages if m["role"] not in ("system", "developer")]
    tail_start = len(dialogue)
    while tail_start > 0 and dialogue[tail_start - 1]["role"] in ("user", "tool"):
        tail_start -= 1
    params: dict[str, Any] = {name: getattr(body, name) for name in SAMPLING if getattr(body, name) is not None}
    if body.max_completion_tokens is not None:
        params["max_tokens"] = body.max_completion_tokens
    for name in ("response_format", "tools", "tool_choice"):
        if getattr(body, name) is not None:
            params[name] = getattr(body, name)
    params.update(body.passthrough())
    if bot_id:
        turn = chat.TurnRequest(
            tenant_id=who.tenant_id,
            bot_id=bot_id,
            request_id=_request_id(),
            new_messages=dialogue[tail_start:],
            conversation_id=body.conversation_id,
            use_history=body.use_history,
            client_history=None if body.conversation_id else dialogue[:tail_start],
            extra_system=system or None,
            prompts=body.prompts,
            params=params,
            handoff_on_failure=False,
        )
    else:
        turn = chat.TurnRequest(
            tenant_id=who.tenant_id,
            bot_id=None,
            request_id=_request_id(),
            new_messages=messages,
            model=body.model,
            params=params,
            handoff_on_failure=False,
        )
    completion = run_once(
        who.tenant_id,
        _idempotency_key(),
        body.model_dump(mode="json"),
        lambda: completion_answer(chat.run_turn(turn), body.model),
    )
    if body.stream:
        include_usage = bool((body.stream_options or {}).get("include_usage"))
        return Response(
            status_code=200,
            content_type="text/event-stream",
            body=sse_stream(completion, include_usage=include_usage),
            headers={"Cache-Control": "no-cache"},
        )
    return json_response(completion)


@app.get("/v1/models", tags=["chat"])
def list_models() -> Response[dict]:
    """The tenant's bots as models (`bot:<id>`), so SDK model pickers list them."""
    who = caller(app)
    who.require(Scope.CHAT)
    data = [
        {"id": f"bot:{bot.id}", "object": "model", "created": 0, "owned_by": who.tenant_id}
        for bot in stores().bots.list(who.tenant_id)
    ]
    return json_response({"object": "list", "data": data})


@app.get("/v1/bots/<bot>/conversations/<conversation>", tags=["conversations"])
def get_conversation(
    bot: BotId, conversation: Annotated[ConversationId, Path()], limit: Annotated[int, Query(ge=1, le=1000)] = 1000
) -> Response[dict]:
    who = caller(app)
    who.require(Scope.CHAT)
    return json_response(read_conversation(who.tenant_id, bot, conversation, limit=limit))


@app.delete("/v1/bots/<bot>/conversations/<conversation>", tags=["conversations"])
def erase_conversation(bot: BotId, conversation: Annotated[ConversationId, Path()]) -> Response[dict]:
    who = caller(app)
    who.require(Scope.CHAT)
    return json_response(delete_conversation(who, bot, conversation))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True, log_event=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    register_context(context)
    return app.resolve(event, context)
