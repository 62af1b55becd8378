"""The OpenAI-compatible answer says how it was answered in headers too, for clients that drop unknown fields."""

from __future__ import annotations

from devtools.fake_openai import FakeOpenAI
from tests.support import TenantHandle, chat_setup


def test_a_handoff_and_a_model_answer_are_told_apart_by_headers(tenant: TenantHandle, upstream: FakeOpenAI) -> None:
    setup = chat_setup(tenant, upstream, handoff={"keywords": ["human agent"]})
    handed = setup.completions({"model": "bot:shop", "messages": [{"role": "user", "content": "a human agent"}]})
    assert handed.status == 200, handed.text
    assert handed.headers["x-atende-handoff"] == "true" and handed.headers["x-atende-handoff-reason"] == "keyword"
    assert handed.headers["x-atende-source"] == "handoff"

    body = {"model": "bot:shop", "messages": [{"role": "user", "content": "¿envíos?"}], "stream": True}
    answered = setup.completions(body)
    assert answered.status == 200, answered.text
    assert answered.headers["x-atende-handoff"] == "false" and answered.headers["x-atende-source"] == "model"
    assert "x-atende-handoff-reason" not in answered.headers
