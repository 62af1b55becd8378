"""The fake OpenAI upstream, driven by the real openai SDK over loopback HTTP."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any

import openai
import pytest

from devtools.fake_openai import FakeOpenAI

KNOWLEDGE_BASE = """Você é o assistente da Loja Sol. Responda com educação e em poucas palavras.

Base de conhecimento:
Horário: abrimos de segunda a sexta, das 9h às 18h, e aos sábados das 9h às 13h.
Entrega: enviamos para todo o Brasil em até 5 dias úteis; frete grátis acima de R$ 200.
Trocas: aceitamos trocas e devoluções em até 30 dias com a nota fiscal.
Pagamento: aceitamos Pix, boleto e cartão de crédito em até 10x sem juros."""

LOOKUP_ORDER: Any = {
    "type": "function",
    "function": {
        "name": "lookup_order",
        "description": "Find an order",
        "parameters": {
            "type": "object",
            "properties": {"order_id": {"type": "string"}, "include_items": {"type": "boolean"}},
            "required": ["order_id", "include_items"],
        },
    },
}
HANDOFF: Any = {
    "type": "function",
    "function": {
        "name": "handoff",
        "parameters": {"type": "object", "properties": {"reason": {"type": "string"}}, "required": ["reason"]},
    },
}


@pytest.fixture
def fake(upstream: FakeOpenAI) -> FakeOpenAI:
    """The suite's shared fake upstream (conftest), freshly reset."""
    return upstream


@pytest.fixture
def client(fake: FakeOpenAI) -> openai.OpenAI:
    return openai.OpenAI(base_url=fake.base_url, api_key="sk-test", max_retries=0, timeout=10)


def ask(question: str, system: str = KNOWLEDGE_BASE) -> Any:
    return [{"role": "system", "content": system}, {"role": "user", "content": question}]


def control(fake: FakeOpenAI, method: str, path: str, payload: Any = None) -> Any:
    data = None if payload is None else json.dumps(payload).encode()
    request = urllib.request.Request(fake.url + path, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())


def test_answers_with_the_closest_knowledge_base_passage(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(model="gpt-4o-mini", messages=ask("Quanto tempo demora a entrega?"))

    assert reply.id.startswith("chatcmpl-")
    assert reply.object == "chat.completion"
    assert reply.model == "offline-gpt-4o-mini"
    assert reply.choices[0].message.content == (
        "Entrega: enviamos para todo o Brasil em até 5 dias úteis; frete grátis acima de R$ 200."
    )
    assert reply.choices[0].finish_reason == "stop"
    assert reply.usage is not None
    assert reply.usage.total_tokens == reply.usage.prompt_tokens + reply.usage.completion_tokens > 0
    assert reply.usage.completion_tokens_details is not None
    assert reply.usage.completion_tokens_details.reasoning_tokens == 0


def test_matching_ignores_accents_and_case(client: openai.OpenAI) -> None:
    parts: Any = [
        {"type": "text", "text": "Aceitam PIX?"},
        {"type": "image_url", "image_url": {"url": "https://x.test/a.png"}},
    ]
    reply = client.chat.completions.create(model="gpt-4o", messages=ask("COMO FAÇO UMA DEVOLUCAO?"))
    multipart = client.chat.completions.create(
        model="gpt-4o", messages=[{"role": "system", "content": KNOWLEDGE_BASE}, {"role": "user", "content": parts}]
    )

    assert reply.choices[0].message.content is not None
    assert reply.choices[0].message.content.startswith("Trocas:")
    assert multipart.choices[0].message.content is not None
    assert multipart.choices[0].message.content.startswith("Pagamento:")


def test_unknown_question_gets_a_fixed_sentence(client: openai.OpenAI) -> None:
    first = client.chat.completions.create(model="gpt-4o", messages=ask("What is the airspeed of a swallow?"))
    second = client.chat.completions.create(model="gpt-4o", messages=ask("What is the airspeed of a swallow?"))

    assert first.choices[0].message.content
    assert first.choices[0].message.content == second.choices[0].message.content


def test_n_returns_that_many_choices(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(
        model="gpt-4o-mini", n=2, messages=ask("Quero saber do horário e da entrega e do pagamento")
    )

    assert [c.index for c in reply.choices] == [0, 1]
    assert all(c.message.content for c in reply.choices)
    assert reply.choices[0].message.content != reply.choices[1].message.content


def test_json_object_response_format(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(
        model="gpt-4o-mini", messages=ask("Aceitam pix?"), response_format={"type": "json_object"}
    )

    content = reply.choices[0].message.content
    assert content is not None
    assert "Pix" in json.loads(content)["answer"]


def test_json_schema_response_format(client: openai.OpenAI) -> None:
    schema: Any = {
        "type": "object",
        "properties": {
            "reply": {"type": "string"},
            "confidence": {"type": "number"},
            "escalate": {"type": "boolean"},
            "tags": {"type": "array", "items": {"type": "string"}},
            "meta": {"type": "object", "properties": {"lang": {"type": "string"}}, "required": ["lang"]},
        },
        "required": ["reply", "confidence", "escalate", "tags", "meta"],
        "additionalProperties": False,
    }
    reply = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=ask("Qual o horário?"),
        response_format={"type": "json_schema", "json_schema": {"name": "answer", "schema": schema, "strict": True}},
    )

    content = reply.choices[0].message.content
    assert content is not None
    data = json.loads(content)
    assert set(schema["required"]) <= data.keys()
    assert data["reply"].startswith("Horário:")
    assert (data["confidence"], data["escalate"], data["tags"]) == (0, False, [])
    assert isinstance(data["meta"]["lang"], str)


def test_forced_tool_call(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=ask("Onde está meu pedido 123?"),
        tools=[LOOKUP_ORDER, HANDOFF],
        tool_choice={"type": "function", "function": {"name": "lookup_order"}},
    )

    choice = reply.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    assert choice.message.tool_calls is not None
    call: Any = choice.message.tool_calls[0]
    assert call.id.startswith("call_")
    assert call.type == "function"
    assert call.function.name == "lookup_order"
    arguments = json.loads(call.function.arguments)
    assert set(arguments) == {"order_id", "include_items"}
    assert arguments["include_items"] is False


def test_handoff_tool_is_called_when_the_user_asks_for_a_human(client: openai.OpenAI) -> None:
    tools: Any = [LOOKUP_ORDER, HANDOFF]
    asked = client.chat.completions.create(
        model="gpt-4o-mini", messages=ask("Quero falar com um atendente humano"), tools=tools
    )
    not_asked = client.chat.completions.create(model="gpt-4o-mini", messages=ask("Aceitam pix?"), tools=tools)

    calls: Any = asked.choices[0].message.tool_calls
    assert calls is not None
    assert calls[0].function.name == "handoff"
    assert json.loads(calls[0].function.arguments)["reason"]
    assert not_asked.choices[0].message.tool_calls is None
    assert not_asked.choices[0].finish_reason == "stop"


def test_max_tokens_truncates_with_finish_reason_length(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(model="gpt-4o-mini", messages=ask("entrega"), max_tokens=5)

    assert reply.choices[0].finish_reason == "length"
    assert reply.usage is not None
    assert reply.usage.completion_tokens == 5


def test_streaming_with_usage_in_the_last_chunk(client: openai.OpenAI) -> None:
    plain: Any = client.chat.completions.create(model="gpt-4o-mini", messages=ask("Qual o horário?"))
    stream = client.chat.completions.create(
        model="gpt-4o-mini", messages=ask("Qual o horário?"), stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)

    assert all(c.object == "chat.completion.chunk" for c in chunks)
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == plain.choices[0].message.content
    assert len([c for c in chunks if c.choices and c.choices[0].delta.content]) > 1
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["stop"]
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == plain.usage.completion_tokens


def test_streamed_tool_call_accumulates_in_the_sdk_helper(client: openai.OpenAI) -> None:
    with client.chat.completions.stream(
        model="gpt-4o-mini", messages=ask("Preciso de uma pessoa de verdade"), tools=[HANDOFF]
    ) as stream:
        for _ in stream:
            pass
        final = stream.get_final_completion()

    choice = final.choices[0]
    assert choice.finish_reason == "tool_calls"
    calls: Any = choice.message.tool_calls
    assert calls is not None
    assert calls[0].function.name == "handoff"
    assert "reason" in json.loads(calls[0].function.arguments)


def test_enqueued_parts_override_the_answer(fake: FakeOpenAI, client: openai.OpenAI) -> None:
    fake.enqueue(content="scripted", usage={"prompt_tokens": 7, "completion_tokens": 2})
    fake.enqueue(tool_calls=[{"name": "lookup_order", "arguments": {"order_id": "42"}}])
    first = client.chat.completions.create(model="gpt-4o-mini", messages=ask("oi"))
    second = client.chat.completions.create(model="gpt-4o-mini", messages=ask("oi"))
    third = client.chat.completions.create(model="gpt-4o-mini", messages=ask("entrega"))

    assert first.choices[0].message.content == "scripted"
    assert first.usage is not None
    assert (first.usage.prompt_tokens, first.usage.completion_tokens, first.usage.total_tokens) == (7, 2, 9)
    calls: Any = second.choices[0].message.tool_calls
    assert calls is not None
    assert json.loads(calls[0].function.arguments) == {"order_id": "42"}
    assert third.choices[0].message.content is not None
    assert third.choices[0].message.content.startswith("Entrega:")


def test_enqueued_429_raises_rate_limit_error(fake: FakeOpenAI, client: openai.OpenAI) -> None:
    fake.enqueue(status=429, headers={"retry-after": "0"})

    with pytest.raises(openai.RateLimitError) as caught:
        client.chat.completions.create(model="gpt-4o-mini", messages=ask("oi"))

    assert caught.value.status_code == 429
    assert caught.value.code == "rate_limit_exceeded"
    assert caught.value.response.headers["retry-after"] == "0"


def test_enqueued_503_raises_internal_server_error(fake: FakeOpenAI, client: openai.OpenAI) -> None:
    fake.enqueue(status=503)

    with pytest.raises(openai.InternalServerError) as caught:
        client.chat.completions.create(model="gpt-4o-mini", messages=ask("oi"))

    assert caught.value.status_code == 503
    assert caught.value.type == "server_error"


def test_sdk_retries_consume_the_queue(fake: FakeOpenAI) -> None:
    fake.enqueue(status=500, headers={"retry-after-ms": "1"})
    retrying = openai.OpenAI(base_url=fake.base_url, api_key="sk-test", max_retries=1, timeout=10)

    reply = retrying.chat.completions.create(model="gpt-4o-mini", messages=ask("entrega"))

    assert reply.choices[0].message.content
    assert len(fake.requests) == 2


def test_api_key_mismatch_raises_authentication_error(fake: FakeOpenAI, client: openai.OpenAI) -> None:
    fake.set_api_key("sk-other")
    with pytest.raises(openai.AuthenticationError) as caught:
        client.chat.completions.create(model="gpt-4o-mini", messages=ask("oi"))
    assert caught.value.code == "invalid_api_key"

    fake.set_api_key("sk-test")
    assert client.chat.completions.create(model="gpt-4o-mini", messages=ask("oi")).choices


def test_latency_beyond_the_client_timeout_raises_timeout(fake: FakeOpenAI, client: openai.OpenAI) -> None:
    fake.set_latency(1.5)

    with pytest.raises(openai.APITimeoutError):
        client.with_options(timeout=0.5).chat.completions.create(model="gpt-4o-mini", messages=ask("oi"))


def test_hang_raises_timeout_and_the_server_keeps_serving(fake: FakeOpenAI, client: openai.OpenAI) -> None:
    fake.enqueue(hang=True)
    started = time.monotonic()

    with pytest.raises(openai.APITimeoutError):
        client.with_options(timeout=1.0).chat.completions.create(model="gpt-4o-mini", messages=ask("oi"))

    assert time.monotonic() - started < 5
    assert client.chat.completions.create(model="gpt-4o-mini", messages=ask("oi")).choices


def test_moderations_for_a_string_and_a_list(client: openai.OpenAI) -> None:
    single = client.moderations.create(input="I am going to kill him with a knife")
    many = client.moderations.create(
        model="omni-moderation-latest", input=["Te voy a matar", "Olá, qual o horário da loja?", "me quiero morir"]
    )

    assert single.id.startswith("modr-")
    assert single.model == "omni-moderation-latest"
    assert single.results[0].flagged is True
    assert single.results[0].categories.violence is True
    assert single.results[0].category_scores.violence >= 0.5
    assert [r.flagged for r in many.results] == [True, False, True]
    benign = many.results[1].category_scores.model_dump(by_alias=True)
    assert len(benign) == 13
    assert all(0 < score < 0.01 for score in benign.values())
    assert many.results[2].categories.self_harm_intent is True
    assert many.results[1].category_applied_input_types.violence == ["text"]


def test_moderation_scores_are_deterministic_and_multimodal_input_is_accepted(client: openai.OpenAI) -> None:
    first = client.moderations.create(input="bom dia").results[0].category_scores
    second = client.moderations.create(input="bom dia").results[0].category_scores
    other = client.moderations.create(input="boa tarde").results[0].category_scores
    parts: Any = [
        {"type": "text", "text": "onde fica a bomba?"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
    ]
    image = client.moderations.create(input=parts)

    assert first == second
    assert first != other
    assert len(image.results) == 1
    assert image.results[0].categories.illicit_violent is True
    assert image.results[0].category_applied_input_types.violence == ["text", "image"]
    assert image.results[0].category_applied_input_types.hate == ["text"]


def test_models_list(client: openai.OpenAI) -> None:
    ids = [m.id for m in client.models.list()]

    assert "gpt-4o-mini" in ids
    assert "omni-moderation-latest" in ids


def test_requests_log_records_bodies_and_headers(fake: FakeOpenAI, client: openai.OpenAI) -> None:
    client.chat.completions.create(model="gpt-4o-mini", messages=ask("oi"), temperature=0.2)
    client.moderations.create(input="olá")

    chat, moderation = fake.requests
    assert (chat.method, chat.path) == ("POST", "/v1/chat/completions")
    assert chat.json["temperature"] == 0.2
    assert chat.json["messages"][1] == {"role": "user", "content": "oi"}
    assert chat.headers["authorization"] == "Bearer sk-test"
    assert chat.time <= moderation.time
    assert moderation.json == {"input": "olá"}


def test_cached_tokens_on_a_repeated_long_system_prompt(client: openai.OpenAI) -> None:
    long_system = KNOWLEDGE_BASE + "\n" + "\n".join(f"Produto {i}: camiseta modelo {i} em algodão." for i in range(150))
    replies: list[Any] = [
        client.chat.completions.create(model="gpt-4o-mini", messages=ask(question, system))
        for question, system in [("entrega", long_system), ("pix", long_system), ("pix", KNOWLEDGE_BASE)] * 2
    ]
    first, second, short, *_, short_again = replies

    assert first.usage.prompt_tokens >= 1024
    assert first.usage.prompt_tokens_details.cached_tokens == 0
    cached = second.usage.prompt_tokens_details.cached_tokens
    assert cached is not None and cached >= 1024
    assert cached % 128 == 0
    assert cached <= second.usage.prompt_tokens
    for reply in (short, short_again):
        assert reply.usage.prompt_tokens_details.cached_tokens == 0


def test_http_control_endpoints(fake: FakeOpenAI, client: openai.OpenAI) -> None:
    assert control(fake, "POST", "/_fake/enqueue", {"status": 429, "headers": {"retry-after": "0"}}) == {"ok": True}
    with pytest.raises(openai.RateLimitError):
        client.chat.completions.create(model="gpt-4o-mini", messages=ask("oi"))

    control(fake, "POST", "/_fake/api_key", {"key": "sk-other"})
    with pytest.raises(openai.AuthenticationError):
        client.chat.completions.create(model="gpt-4o-mini", messages=ask("oi"))
    control(fake, "POST", "/_fake/api_key", {"key": None})

    control(fake, "POST", "/_fake/latency", {"seconds": 1.5})
    with pytest.raises(openai.APITimeoutError):
        client.with_options(timeout=0.5).chat.completions.create(model="gpt-4o-mini", messages=ask("oi"))

    logged = control(fake, "GET", "/_fake/requests")
    assert [r["path"] for r in logged] == ["/v1/chat/completions"] * 3
    assert logged[0]["json"]["model"] == "gpt-4o-mini"
    assert logged[0]["headers"]["authorization"] == "Bearer sk-test"

    control(fake, "POST", "/_fake/reset", {})
    assert control(fake, "GET", "/_fake/requests") == []
    assert client.chat.completions.create(model="gpt-4o-mini", messages=ask("oi")).choices


def test_unknown_path_and_invalid_json_get_error_envelopes(fake: FakeOpenAI) -> None:
    with pytest.raises(urllib.error.HTTPError) as not_found:
        control(fake, "POST", "/v1/nothing-here", {})
    request = urllib.request.Request(fake.base_url + "/chat/completions", data=b"{not json", method="POST")
    with pytest.raises(urllib.error.HTTPError) as bad_json:
        urllib.request.urlopen(request, timeout=5)

    assert not_found.value.code == 404
    assert set(json.loads(not_found.value.read())["error"]) == {"message", "type", "param", "code"}
    assert bad_json.value.code == 400
    assert json.loads(bad_json.value.read())["error"]["type"] == "invalid_request_error"
