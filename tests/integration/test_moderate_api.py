"""Moderate function through the API Gateway emulator and the fake upstream; the chat gate; the real openai SDK."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from werkzeug.serving import make_server

from atende.guards import moderation
from atende.models.bots import ModerationPolicy
from atende.providers.upstream import Deadline
from devtools.apigw import ApiGatewayEmulator
from devtools.fake_openai import FakeOpenAI
from tests.support import Answer, TenantHandle

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def key(tenant: TenantHandle, upstream: FakeOpenAI) -> str:
    """A `moderate` key of a tenant whose `openai` credential points at the fake upstream."""
    stored = tenant.call(
        "PUT", "/v1/credentials/openai", json_body={"api_key": "sk-test-1234567890", "base_url": upstream.base_url}
    )
    assert stored.status == 200, stored.text
    return tenant.new_key(["moderate"])


def _post(tenant: TenantHandle, key: str, path: str, body: Any) -> Answer:
    return tenant.call("POST", path, key=key, json_body=body)


def _moderation_calls(upstream: FakeOpenAI) -> list[Any]:
    return [r.json for r in upstream.requests if r.path == "/v1/moderations"]


# --- POST /v1/moderations -------------------------------------------------------------------------------------------
def test_string_input_answers_in_openai_shape(tenant: TenantHandle, key: str, upstream: FakeOpenAI) -> None:
    answer = _post(tenant, key, "/v1/moderations", {"input": "te voy a matar"})
    assert answer.status == 200, answer.text
    body = answer.json
    assert body["id"].startswith("modr-") and body["model"] == "omni-moderation-latest"
    [result] = body["results"]
    assert result["flagged"] is True and result["categories"]["violence"] is True
    assert result["category_scores"]["violence"] > 0.8
    assert result["category_applied_input_types"]["violence"] == ["text"], "unmodelled fields pass through"
    assert _moderation_calls(upstream) == [{"input": "te voy a matar", "model": "omni-moderation-latest"}]
    assert upstream.requests[-1].headers["authorization"] == "Bearer sk-test-1234567890"


def test_list_and_multimodal_inputs(tenant: TenantHandle, key: str, upstream: FakeOpenAI) -> None:
    listed = _post(tenant, key, "/v1/moderations", {"input": ["hola, buen día", "I hate you"], "model": None})
    assert listed.status == 200, listed.text
    assert [r["flagged"] for r in listed.json["results"]] == [False, True]

    parts = [
        {"type": "text", "text": "nice shoes"},
        {"type": "image_url", "image_url": {"url": "https://x.test/a.png"}},
    ]
    multimodal = _post(tenant, key, "/v1/moderations", {"input": parts, "model": "omni-moderation-2024-09-26"})
    assert multimodal.status == 200, multimodal.text
    [result] = multimodal.json["results"]
    assert result["category_applied_input_types"]["violence"] == ["text", "image"]
    assert _moderation_calls(upstream)[-1] == {"input": parts, "model": "omni-moderation-2024-09-26"}


def test_unknown_fields_are_refused_on_the_openai_form(tenant: TenantHandle, key: str) -> None:
    answer = _post(tenant, key, "/v1/moderations", {"input": "hi", "temperature": 1})
    assert answer.status == 400 and answer.error["param"] == "temperature"


# --- POST /v1/moderate ----------------------------------------------------------------------------------------------
def test_flat_form_for_workflow_tools(tenant: TenantHandle, key: str) -> None:
    answer = _post(tenant, key, "/v1/moderate", {"text": "quero morrer, vou te matar"})
    assert answer.status == 200, answer.text
    flat = answer.json
    assert set(flat) == {"flagged", "flagged_categories", "top_category", "top_score", "category_scores", "model"}
    assert flat["flagged"] is True and flat["model"] == "omni-moderation-latest"
    scores = flat["category_scores"]
    ranked = flat["flagged_categories"]
    assert "self-harm/intent" in ranked and "violence" in ranked
    assert [scores[c] for c in ranked] == sorted((scores[c] for c in ranked), reverse=True)
    assert flat["top_category"] == ranked[0] and flat["top_score"] == scores[ranked[0]]
    assert scores["self_harm_intent"] == scores["self-harm/intent"]
    assert scores["illicit_violent"] == scores["illicit/violent"]
    assert len(answer.text.encode()) < 10_000


def test_flat_form_takes_a_webhook_context_and_ignores_the_rest(tenant: TenantHandle, key: str) -> None:
    rapidpro_like = {
        "contact": {"uuid": "c1", "name": "Ana", "urn": "whatsapp:5511999999999"},
        "flow": {"uuid": "f1", "name": "Soporte"},
        "results": {},
        "input": {"text": "buenos días, ¿dónde está mi pedido?", "attachments": []},
    }
    answer = _post(tenant, key, "/v1/moderate", rapidpro_like)
    assert answer.status == 200, answer.text
    assert answer.json["flagged"] is False and answer.json["flagged_categories"] == []
    assert isinstance(answer.json["top_category"], str) and answer.json["top_score"] < 0.5


# --- POST /v1/redact ------------------------------------------------------------------------------------------------
def test_redact_masks_pii_with_typed_placeholders(tenant: TenantHandle, key: str, upstream: FakeOpenAI) -> None:
    text = "Meu CPF é 529.982.247-25 e o e-mail ana@exemplo.com.br"
    answer = _post(tenant, key, "/v1/redact", {"text": text})
    assert answer.status == 200, answer.text
    assert answer.json == {
        "text": "Meu CPF é [CPF] e o e-mail [EMAIL]",
        "counts": {"cpf": 1, "email": 1},
        "redacted": True,
    }

    only_email = _post(tenant, key, "/v1/redact", {"text": text, "kinds": "email"})
    assert only_email.json["text"] == "Meu CPF é 529.982.247-25 e o e-mail [EMAIL]"
    clean = _post(tenant, key, "/v1/redact", {"text": "nada que esconder"})
    assert clean.json == {"text": "nada que esconder", "counts": {}, "redacted": False}
    assert _moderation_calls(upstream) == [], "redaction never leaves Atende"

    unknown = _post(tenant, key, "/v1/redact", {"text": text, "kinds": ["email", "ssn"]})
    assert unknown.status == 400 and unknown.error["param"] == "kinds" and "ssn" in unknown.error["message"]
    missing = _post(tenant, key, "/v1/redact", {"kinds": ["email"]})
    assert missing.status == 400 and missing.error["param"] == "text"


# --- refusals -------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("path", "body"),
    [("/v1/moderations", {"input": "hola"}), ("/v1/moderate", {"text": "hola"}), ("/v1/redact", {"text": "hola"})],
)
def test_keys_without_the_moderate_scope_are_refused(
    tenant: TenantHandle, key: str, upstream: FakeOpenAI, path: str, body: dict[str, Any]
) -> None:
    for scopes in (["chat"], ["admin"]):
        other = tenant.new_key(scopes)
        answer = _post(tenant, other, path, body)
        assert answer.status == 403, answer.text
        assert answer.error["code"] == "insufficient_scope" and "moderate" in answer.error["message"]
    assert _moderation_calls(upstream) == []


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"input": 12},
        {"input": ""},
        {"input": []},
        {"input": ["x"] * 33},
        {"input": "a" * 100_000},
        {"input": [{"type": "video"}]},
    ],
    ids=["missing", "number", "empty-string", "empty-list", "33-items", "100-KB", "bad-part"],
)
@pytest.mark.parametrize("path", ["/v1/moderations", "/v1/moderate"])
def test_bad_input_is_a_400_naming_input(
    tenant: TenantHandle, key: str, upstream: FakeOpenAI, path: str, body: dict[str, Any]
) -> None:
    answer = _post(tenant, key, path, body)
    assert answer.status == 400, answer.text
    assert answer.error["param"] == "input" and answer.error["type"] == "invalid_request_error"
    assert "input" in answer.error["message"]
    assert _moderation_calls(upstream) == []


def test_a_1_mb_string_is_refused_before_parsing(tenant: TenantHandle, key: str, upstream: FakeOpenAI) -> None:
    answer = _post(tenant, key, "/v1/moderate", {"input": "a" * 1_000_000})
    assert answer.status == 413 and answer.error["code"] == "payload_too_large" and answer.error["param"] == "input"
    assert _moderation_calls(upstream) == []


# --- upstream failures ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/v1/moderations", "/v1/moderate"])
def test_upstream_down_is_a_clear_503(tenant: TenantHandle, key: str, upstream: FakeOpenAI, path: str) -> None:
    for _ in range(3):
        upstream.enqueue(path="/v1/moderations", status=503)
    answer = _post(tenant, key, path, {"input": "hola"})
    assert answer.status == 503, answer.text
    assert answer.error["code"] == "upstream_unavailable" and answer.error["type"] == "upstream_error"
    assert "503" in answer.error["message"]
    assert len(_moderation_calls(upstream)) == 3, "retried inside the deadline"


def test_upstream_rate_limit_is_a_429_with_retry_after(tenant: TenantHandle, key: str, upstream: FakeOpenAI) -> None:
    for _ in range(3):
        upstream.enqueue(path="/v1/moderations", status=429, headers={"retry-after": "0"})
    answer = _post(tenant, key, "/v1/moderate", {"input": "hola"})
    assert answer.status == 429 and answer.error["code"] == "rate_limit_exceeded"
    assert answer.headers.get("Retry-After") == "0"


def test_missing_credential_is_a_clear_502(tenant: TenantHandle) -> None:
    key = tenant.new_key(["moderate"])
    answer = _post(tenant, key, "/v1/moderations", {"input": "hola"})
    assert answer.status == 502, answer.text
    assert answer.error["code"] == "missing_credential" and "PUT /v1/credentials/openai" in answer.error["message"]


# --- the chat gate against the fake upstream ------------------------------------------------------------------------
def test_gate_flags_through_the_upstream_and_respects_thresholds(
    tenant: TenantHandle, key: str, upstream: FakeOpenAI
) -> None:
    strict = ModerationPolicy(mode="both", thresholds={"harassment": 0.0001})
    flagged = moderation.gate(tenant.id, "I will kill you", ModerationPolicy(mode="input"), "input", Deadline(8))
    assert flagged.checked and flagged.flagged and flagged.blocked and "violence" in flagged.categories
    assert "I will kill you" not in json.dumps(flagged.record())
    passed = moderation.gate(tenant.id, "where is my order?", ModerationPolicy(mode="both"), "output", Deadline(8))
    assert passed.checked and not passed.flagged and not passed.blocked
    tripped = moderation.gate(tenant.id, "where is my order?", strict, "output", Deadline(8))
    assert tripped.flagged and tripped.categories[0] == "harassment"
    skipped = moderation.gate(tenant.id, "I will kill you", ModerationPolicy(mode="output"), "input", Deadline(8))
    assert not skipped.checked and not skipped.blocked
    assert len(_moderation_calls(upstream)) == 3


@pytest.mark.parametrize(("fail_mode", "blocked"), [("open", False), ("closed", True)])
def test_gate_with_upstream_down_follows_the_fail_mode(
    tenant: TenantHandle, key: str, upstream: FakeOpenAI, fail_mode: Any, blocked: bool
) -> None:
    for _ in range(3):
        upstream.enqueue(path="/v1/moderations", status=503)
    policy = ModerationPolicy(mode="input", fail_mode=fail_mode)
    decision = moderation.gate(tenant.id, "hola", policy, "input", Deadline(8))
    assert decision.error is not None and decision.error.startswith("upstream_unavailable")
    assert decision.fail_mode == fail_mode and decision.blocked is blocked


# --- import cost ----------------------------------------------------------------------------------------------------
def test_the_moderate_function_imports_nothing_only_chat_needs() -> None:
    script = (
        "import sys\n"
        "from devtools.functions import load_function\n"
        "assert load_function('moderate') is not None\n"
        "print(','.join(sorted(m for m in sys.modules if m.startswith('atende'))))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    loaded = set(done.stdout.strip().split(","))
    assert "atende.guards.moderation" in loaded
    assert not loaded & {"atende.chat.turn", "atende.chat.prompt", "atende.providers.tokens"}, sorted(loaded)
    assert not any(m.startswith("atende.chat.") for m in loaded), sorted(loaded)


# --- the real openai SDK over HTTP ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def http_api(emulator: ApiGatewayEmulator) -> Iterator[str]:
    """The emulator behind a real loopback HTTP server, as an SDK reaches it."""
    server = make_server("127.0.0.1", 0, emulator, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="moderate-api", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/v1"
    server.shutdown()
    thread.join(timeout=5)


def test_openai_sdk_moderations_create_parses_string_and_list(http_api: str, key: str) -> None:
    client = openai.OpenAI(base_url=http_api, api_key=key, max_retries=0, timeout=20)
    single = client.moderations.create(input="te voy a matar")
    assert single.model == "omni-moderation-latest" and len(single.results) == 1
    assert single.results[0].flagged is True and single.results[0].categories.violence is True
    assert single.results[0].category_scores.self_harm_intent < 0.5

    listed = client.moderations.create(input=["hola", "quiero morirme"], model="omni-moderation-latest")
    assert [r.flagged for r in listed.results] == [False, True]
    assert listed.results[1].categories.self_harm_intent is True


def test_openai_sdk_surfaces_our_error_envelope(http_api: str, tenant: TenantHandle) -> None:
    client = openai.OpenAI(base_url=http_api, api_key=tenant.new_key(["chat"]), max_retries=0, timeout=20)
    with pytest.raises(openai.PermissionDeniedError) as raised:
        client.moderations.create(input="hola")
    assert raised.value.code == "insufficient_scope"
