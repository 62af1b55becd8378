"""The real openai SDK pointed at the running local stack: chat, n=2, JSON, streaming, memory, moderation."""

from __future__ import annotations

import json
import uuid

import openai
import pytest

from tests.e2e.conftest import LocalStack


@pytest.fixture
def client(local_stack: LocalStack) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{local_stack.url}/v1", api_key=local_stack.chat_key, max_retries=0, timeout=30)


def test_chat_with_the_demo_bot_answers_from_its_knowledge_base(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(
        model="bot:demo", messages=[{"role": "user", "content": "¿Cuánto cuesta el envío express?"}]
    )
    reply = completion.choices[0].message.content or ""
    assert "express" in reply.lower() and "$7.990" in reply
    assert completion.model.startswith("offline-"), "the offline upstream says so"
    assert completion.usage is not None and completion.usage.prompt_tokens > 0


def test_n_two_returns_two_choices(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(
        model="bot:demo", n=2, messages=[{"role": "user", "content": "¿Qué medios de pago aceptan?"}]
    )
    assert [c.index for c in completion.choices] == [0, 1]
    assert all(c.message.content for c in completion.choices)


def test_json_response_format(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(
        model="bot:demo",
        response_format={"type": "json_object"},
        messages=[{"role": "user", "content": "¿Cómo cuido una prenda de lana?"}],
    )
    assert isinstance(json.loads(completion.choices[0].message.content or ""), dict)


def test_stream_reads_content_and_usage_in_the_last_chunk(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model="bot:demo",
        stream=True,
        stream_options={"include_usage": True},
        messages=[{"role": "user", "content": "¿Cuál es el plazo para cambios y devoluciones?"}],
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert "30 días" in text
    assert chunks[-1].usage is not None and chunks[-1].usage.total_tokens > 0


def test_second_turn_with_the_same_conversation_sees_the_first(client: openai.OpenAI, local_stack: LocalStack) -> None:
    conversation = f"e2e-{uuid.uuid4().hex[:8]}"
    first = client.chat.completions.create(
        model="bot:demo",
        messages=[{"role": "user", "content": "Hola, ¿hacen envíos a todo el país?"}],
        extra_body={"conversation_id": conversation},
    )
    client.chat.completions.create(
        model="bot:demo",
        messages=[{"role": "user", "content": "¿Y cuánto tarda?"}],
        extra_body={"conversation_id": conversation},
    )
    stored = local_stack.request("GET", f"/v1/bots/demo/conversations/{conversation}", key=local_stack.admin_key)
    assert stored.status_code == 200, stored.text
    messages = stored.json()["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "user", "assistant"]
    assert messages[1]["content"] == first.choices[0].message.content


def test_webhook_form_with_plain_http(local_stack: LocalStack) -> None:
    answer = local_stack.request(
        "POST",
        "/v1/bots/demo/chat",
        key=local_stack.chat_key,
        json={"message": "¿Tienen talla XXL?", "conversation_id": "whatsapp:+5491100000000", "temperature": "0.2"},
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert "XXL" in body["reply"] and body["choices"][0]["message"]["content"] == body["reply"]
    assert len(answer.content) < 10_000


def test_unknown_bot_is_a_404_the_sdk_raises(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as raised:
        client.chat.completions.create(model="bot:ghost", messages=[{"role": "user", "content": "hola"}])
    assert raised.value.code == "bot_not_found"


def test_moderations_parse_for_a_string_and_a_list(client: openai.OpenAI) -> None:
    single = client.moderations.create(input="Voy a matar a mi vecino")
    assert single.results[0].flagged is True and single.results[0].categories.violence is True
    many = client.moderations.create(input=["Hola, ¿cómo estás?", "Quiero comprar una camisa"])
    assert len(many.results) == 2 and not any(r.flagged for r in many.results)


def test_models_list_and_retrieve_show_the_bots(client: openai.OpenAI) -> None:
    assert "bot:demo" in [m.id for m in client.models.list()]
    assert client.models.retrieve("bot:demo").id == "bot:demo"
