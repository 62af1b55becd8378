"""Every answer names its request in `x-request-id`, the id the answer's body carries and the SDKs expose."""

from __future__ import annotations

import openai
import pytest

from tests.e2e.conftest import LocalStack


@pytest.fixture
def client(local_stack: LocalStack) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{local_stack.url}/v1", api_key=local_stack.chat_key, max_retries=0, timeout=30)


def test_the_sdk_reads_the_request_id_of_a_completion(client: openai.OpenAI) -> None:
    raw = client.chat.completions.with_raw_response.create(
        model="bot:demo", messages=[{"role": "user", "content": "¿Hacen envíos?"}]
    )
    completion = raw.parse()
    request_id = raw.headers.get("x-request-id")
    assert request_id, "the SDK's _request_id would be empty"
    assert completion._request_id == request_id
    assert (completion.model_extra or {})["atende"]["request_id"] == request_id
    assert raw.headers.get("x-amzn-RequestId") == request_id, "the same id API Gateway logs"


def test_the_sdk_reads_the_request_id_of_a_stream(client: openai.OpenAI) -> None:
    raw = client.chat.completions.with_raw_response.create(
        model="bot:demo", stream=True, messages=[{"role": "user", "content": "¿Hacen envíos?"}]
    )
    stream = raw.parse()
    assert raw.headers.get("x-request-id") and stream.response.headers["x-request-id"] == raw.headers["x-request-id"]
    assert list(stream), "the stream still reads"


def test_an_error_the_function_answers_carries_the_request_id(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as raised:
        client.chat.completions.create(model="bot:ghost", messages=[{"role": "user", "content": "hola"}])
    assert raised.value.request_id and raised.value.request_id == raised.value.response.headers["x-amzn-RequestId"]


def test_a_validation_error_carries_the_request_id(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as raised:
        client.chat.completions.create(model="bot:demo", messages=[], temperature=9)
    assert raised.value.request_id


def test_an_error_api_gateway_answers_itself_carries_the_request_id(local_stack: LocalStack) -> None:
    refused = openai.OpenAI(base_url=f"{local_stack.url}/v1", api_key="atd_not-a-key", max_retries=0, timeout=30)
    with pytest.raises(openai.AuthenticationError) as raised:
        refused.models.list()
    assert raised.value.request_id and raised.value.request_id == raised.value.response.headers["x-amzn-RequestId"]


@pytest.mark.parametrize(
    ("method", "path", "key"),
    [
        ("GET", "/openapi.json", None),
        ("GET", "/docs", None),
        ("GET", "/v1/nowhere", None),  # API Gateway's own 404
        ("GET", "/v1/bots", "admin"),
        ("GET", "/v1/bots/ghost", "admin"),
        ("POST", "/v1/bots", "chat"),  # 403: scope
        ("GET", "/v1/admin/tenants", "root"),
        ("POST", "/v1/moderate", "chat"),  # 400: no body
        ("GET", "/v1/bots/demo/conversations/none-yet", "chat"),
    ],
)
def test_every_route_answers_with_a_request_id(
    local_stack: LocalStack, method: str, path: str, key: str | None
) -> None:
    keys = {"admin": local_stack.admin_key, "chat": local_stack.chat_key, "root": local_stack.root_key}
    answer = local_stack.request(method, path, key=keys[key] if key else None)
    assert answer.headers.get("x-request-id"), f"{method} {path} answered {answer.status_code} without x-request-id"
    assert answer.headers["x-request-id"] == answer.headers["x-amzn-RequestId"]


def test_the_webhook_answer_and_its_header_name_the_same_request(local_stack: LocalStack) -> None:
    answer = local_stack.request("POST", "/v1/bots/demo/chat", key=local_stack.chat_key, json={"message": "hola"})
    assert answer.status_code == 200, answer.text
    assert answer.headers.get("x-request-id") == answer.json()["request_id"]
