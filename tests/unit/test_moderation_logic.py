"""Moderation logic without sockets: request models, flatten, thresholds, aliases, the gate and its metrics."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from atende.guards import moderation
from atende.guards.moderation import GateDecision, decide, flatten, gate, normalize_thresholds
from atende.models.bots import MODERATION_CATEGORIES, ModerationPolicy
from atende.models.moderation import (
    MAX_INPUT_BYTES,
    ModerateRequest,
    ModerationRequest,
    ModerationResponse,
    RedactRequest,
    canonical_category,
    category_alias,
    wire_input,
)
from atende.platform.errors import UpstreamUnavailable
from atende.platform.settings import Settings
from atende.providers import upstream
from atende.providers.upstream import Deadline, ProviderResult

pytestmark = pytest.mark.usefixtures("socket_disabled")


def _result(scores: dict[str, float], flagged: tuple[str, ...] = ()) -> dict[str, Any]:
    every = {c: 0.0001 for c in MODERATION_CATEGORIES} | scores
    categories = {c: c in flagged for c in every}
    return {"flagged": bool(flagged), "categories": categories, "category_scores": every}


def _response(*results: dict[str, Any], model: str = "omni-moderation-2024-09-26") -> ModerationResponse:
    return ModerationResponse.model_validate({"id": "modr-1", "model": model, "results": list(results)})


def _emf(output: str) -> list[dict[str, Any]]:
    """The EMF records printed (each metric's one value is a number)."""
    return [json.loads(line) for line in output.splitlines() if line.startswith("{") and '"_aws"' in line]


@pytest.fixture(autouse=True)
def settings(monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The deployment's stage, which the moderation metrics carry as their one dimension."""
    fake = Settings(table_name="unit", stage="unit")
    monkeypatch.setattr(moderation, "get_settings", lambda: fake)
    return fake


# --- category names -------------------------------------------------------------------------------------------------
def test_every_category_has_an_underscore_alias_that_maps_back() -> None:
    assert category_alias("self-harm/intent") == "self_harm_intent"
    assert category_alias("illicit/violent") == "illicit_violent"
    assert category_alias("hate") == "hate"
    for category in MODERATION_CATEGORIES:
        assert canonical_category(category) == category
        assert canonical_category(category_alias(category)) == category
    assert canonical_category("Self_Harm_Intent") == "self-harm/intent"
    assert canonical_category("nonsense") is None


def test_thresholds_accept_both_spellings_and_the_stricter_wins() -> None:
    limits = normalize_thresholds({"self_harm_intent": 0.3, "self-harm/intent": 0.2, "illicit_violent": 0.4})
    assert limits == {"self-harm/intent": 0.2, "illicit/violent": 0.4}


# --- flatten ----------------------------------------------------------------------------------------------------------
def test_flatten_sorts_flagged_categories_by_score_and_adds_aliases() -> None:
    response = _response(
        _result(
            {"violence": 0.86, "self-harm/intent": 0.91, "illicit/violent": 0.6},
            flagged=("violence", "self-harm/intent", "illicit/violent"),
        )
    )
    flat = flatten(response).model_dump()
    assert flat["flagged"] is True
    assert flat["flagged_categories"] == ["self-harm/intent", "violence", "illicit/violent"]
    assert flat["top_category"] == "self-harm/intent" and flat["top_score"] == 0.91
    scores = flat["category_scores"]
    assert scores["self-harm/intent"] == scores["self_harm_intent"] == 0.91
    assert scores["illicit/violent"] == scores["illicit_violent"] == 0.6
    assert scores["harassment_threatening"] == scores["harassment/threatening"]
    assert "hate" in scores and "self_harm" in scores and "self-harm" in scores
    assert flat["model"] == "omni-moderation-2024-09-26"


def test_flatten_of_a_clean_text_still_names_the_top_category() -> None:
    flat = flatten(_response(_result({"harassment": 0.02}))).model_dump()
    assert flat["flagged"] is False and flat["flagged_categories"] == []
    assert flat["top_category"] == "harassment" and flat["top_score"] == 0.02


def test_flatten_of_a_list_takes_any_flag_and_the_highest_score_per_category() -> None:
    response = _response(
        _result({"hate": 0.1, "violence": 0.7}, flagged=("violence",)),
        _result({"hate": 0.8, "violence": 0.2}, flagged=("hate",)),
        _result({}),
    )
    flat = flatten(response)
    assert flat.flagged is True
    assert flat.flagged_categories == ["hate", "violence"]
    assert flat.category_scores["hate"] == 0.8 and flat.category_scores["violence"] == 0.7


def test_flatten_keeps_categories_it_does_not_know() -> None:
    flat = flatten(_response(_result({"new-thing/sub": 0.99}, flagged=("new-thing/sub",))))
    assert flat.flagged_categories == ["new-thing/sub"]
    assert flat.category_scores["new_thing_sub"] == 0.99


# --- threshold logic ------------------------------------------------------------------------------------------------
def test_openai_flag_alone_flags() -> None:
    decision = decide("input", _response(_result({"violence": 0.86}, flagged=("violence",))).results, {})
    assert decision.flagged and decision.categories == ["violence"] and decision.checked


def test_a_threshold_stricter_than_openai_flags_what_openai_let_pass() -> None:
    results = _response(_result({"harassment": 0.35, "hate": 0.2, "violence": 0.41})).results
    decision = decide("output", results, {"harassment": 0.3, "violence": 0.41, "hate": 0.5})
    assert decision.flagged is True
    assert decision.categories == ["violence", "harassment"], "at the threshold trips; highest score first"
    assert decision.scores["hate"] == 0.2 and len(decision.scores) == len(MODERATION_CATEGORIES)


def test_an_underscore_threshold_applies_to_the_slash_category() -> None:
    results = _response(_result({"self-harm/intent": 0.25})).results
    assert decide("input", results, {"self_harm_intent": 0.2}).categories == ["self-harm/intent"]
    assert decide("input", results, {"self_harm_intent": 0.3}).flagged is False


def test_clean_text_under_every_threshold_passes() -> None:
    decision = decide("input", _response(_result({"sexual": 0.1})).results, {"sexual": 0.5})
    assert not decision.flagged and decision.categories == [] and not decision.blocked


# --- GateDecision -----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("flagged", "error", "fail_mode", "blocked"),
    [
        (False, None, None, False),
        (True, None, None, True),
        (False, "upstream_unavailable: down", "open", False),
        (False, "upstream_unavailable: down", "closed", True),
    ],
)
def test_blocked_is_flagged_or_a_closed_failure(
    flagged: bool, error: str | None, fail_mode: Any, blocked: bool
) -> None:
    decision = GateDecision("input", True, flagged, ["hate"] if flagged else [], {}, error=error, fail_mode=fail_mode)
    assert decision.blocked is blocked


def test_record_holds_categories_and_scores_never_text() -> None:
    decision = GateDecision("output", True, True, ["hate"], {"hate": 0.9})
    assert decision.record() == {
        "stage": "output",
        "flagged": True,
        "categories": ["hate"],
        "scores": {"hate": 0.9},
        "error": None,
        "fail_mode": None,
    }


# --- gate -----------------------------------------------------------------------------------------------------------
@pytest.fixture
def upstream_calls(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Stands in for the provider: answers each call with the next scripted body or exception."""
    script: list[Any] = []
    calls: list[Any] = []

    def fake(tenant_id: str, inputs: Any, model: str, deadline: Deadline) -> ProviderResult:
        calls.append((tenant_id, inputs, model))
        outcome = script.pop(0)
        if isinstance(outcome, BaseException):
            raise outcome
        return ProviderResult(outcome, "openai", model, 1, 0.01)

    monkeypatch.setattr(upstream, "moderation", fake)
    calls.append(script)  # calls[0] is the script; the calls follow it
    return calls


@pytest.mark.parametrize(
    ("mode", "stage"), [("off", "input"), ("off", "output"), ("input", "output"), ("output", "input")]
)
def test_a_stage_the_policy_does_not_cover_is_not_checked(
    mode: Any, stage: Any, upstream_calls: list[Any], capsys: pytest.CaptureFixture[str]
) -> None:
    decision = gate("t1", "te voy a matar", ModerationPolicy(mode=mode), stage, Deadline(5))
    assert decision == GateDecision(stage, checked=False, flagged=False, categories=[])
    assert len(upstream_calls) == 1, "no upstream call"
    assert _emf(capsys.readouterr().out) == []


def test_blank_text_is_not_sent(upstream_calls: list[Any]) -> None:
    assert gate("t1", "  \n", ModerationPolicy(mode="both"), "output", Deadline(5)).checked is False
    assert len(upstream_calls) == 1


def test_gate_flags_with_thresholds_and_emits_one_metric_record(
    upstream_calls: list[Any], capsys: pytest.CaptureFixture[str]
) -> None:
    upstream_calls[0].append({"id": "m", "model": "omni", "results": [_result({"harassment": 0.4})]})
    policy = ModerationPolicy(mode="both", thresholds={"harassment": 0.3})
    decision = gate("t1", "you are slow", policy, "input", Deadline(5))
    assert decision.checked and decision.flagged and decision.blocked and decision.categories == ["harassment"]
    assert upstream_calls[1] == ("t1", "you are slow", "omni-moderation-latest")
    [record] = _emf(capsys.readouterr().out)
    directive = record["_aws"]["CloudWatchMetrics"][0]
    assert directive["Namespace"] == "Atende" and directive["Dimensions"] == [["Stage"]]
    assert (record["Stage"], record["tenant"], record["gate"]) == ("unit", "t1", "input") and "Tenant" not in record
    counts = {m: record[m] for m in ("ModerationChecks", "ModerationFlagged", "ModerationErrors", "ModerationBlocked")}
    assert counts == {"ModerationChecks": 1, "ModerationFlagged": 1, "ModerationErrors": 0, "ModerationBlocked": 1}
    assert "you are slow" not in json.dumps(record)


@pytest.mark.parametrize(("fail_mode", "blocked"), [("open", False), ("closed", True)])
def test_an_upstream_failure_is_decided_by_the_fail_mode(
    fail_mode: Any, blocked: bool, upstream_calls: list[Any], capsys: pytest.CaptureFixture[str]
) -> None:
    upstream_calls[0].append(UpstreamUnavailable("The 'openai' provider failed (503): overloaded"))
    decision = gate("t2", "hello", ModerationPolicy(mode="output", fail_mode=fail_mode), "output", Deadline(5))
    assert decision.checked and not decision.flagged
    assert decision.error is not None and decision.error.startswith("upstream_unavailable:")
    assert decision.fail_mode == fail_mode and decision.blocked is blocked
    assert decision.record()["fail_mode"] == fail_mode
    [record] = _emf(capsys.readouterr().out)
    assert record["ModerationErrors"] == 1 and record["ModerationBlocked"] == int(blocked)
    assert (record["tenant"], record["gate"]) == ("t2", "output")


def test_an_unexpected_failure_or_a_malformed_answer_never_raises(upstream_calls: list[Any]) -> None:
    upstream_calls[0].extend([RuntimeError("boom"), {"unexpected": True}])
    policy = ModerationPolicy(mode="input", fail_mode="closed")
    crashed = gate("t3", "hello", policy, "input", Deadline(5))
    assert crashed.error == "internal_error: RuntimeError" and crashed.blocked
    malformed = gate("t3", "hello", policy, "input", Deadline(5))
    assert malformed.error is not None and malformed.error.startswith("provider_bad_response:") and malformed.blocked


def test_moderate_passes_the_answer_through_and_counts_per_input(
    upstream_calls: list[Any], capsys: pytest.CaptureFixture[str]
) -> None:
    body = {"id": "m", "model": "omni", "results": [_result({}), _result({"hate": 0.9}, flagged=("hate",))]}
    upstream_calls[0].append(body)
    response = moderation.moderate("t4", ["a", "b"], deadline=Deadline(5))
    assert response.model_dump(mode="json") == body
    [record] = _emf(capsys.readouterr().out)
    assert (record["gate"], record["tenant"], record["ModerationChecks"], record["ModerationFlagged"]) == (
        "api",
        "t4",
        2,
        1,
    )
    assert "ModerationBlocked" not in record, "the endpoints only answer: nothing is blocked"


# --- request models ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({}, "is required"),
        ({"input": None}, "is required"),
        ({"input": 42}, "must be a string"),
        ({"input": ""}, "must not be empty"),
        ({"input": "   "}, "must not be empty"),
        ({"input": []}, "empty list"),
        ({"input": ["ok", ""]}, "item 1 must not be empty"),
        ({"input": ["x"] * 33}, "at most 32"),
        ({"input": "a" * (MAX_INPUT_BYTES + 1)}, "at most 64 KB"),
        ({"input": ["é" * 20_000, "é" * 20_000]}, "at most 64 KB"),
        ({"input": ["ok", 1]}, "must be a string"),
        ({"input": [{"type": "audio"}]}, "expected 'text' or 'image_url'"),
        ({"input": [{"type": "image_url", "image_url": {}}]}, "without image_url.url"),
        ({"input": [{"type": "text", "text": ""}]}, "without text"),
    ],
)
def test_bad_inputs_are_refused_naming_input(body: dict[str, Any], fragment: str) -> None:
    for model in (ModerationRequest, ModerateRequest):
        with pytest.raises(ValidationError) as raised:
            model.model_validate(body)
        [error] = raised.value.errors()
        assert error["loc"] == ("input",) and fragment in error["msg"], error


def test_multimodal_parts_are_reduced_to_what_openai_reads() -> None:
    request = ModerationRequest.model_validate(
        {
            "input": [
                {"type": "text", "text": "hi", "extra": 1},
                {"type": "image_url", "image_url": {"url": "https://x.test/a.png", "detail": "low"}},
            ]
        }
    )
    assert wire_input(request.input) == [
        {"type": "text", "text": "hi"},
        {"type": "image_url", "image_url": {"url": "https://x.test/a.png"}},
    ]
    assert request.model == "omni-moderation-latest"


def test_the_openai_form_refuses_unknown_fields_and_the_flat_form_ignores_them() -> None:
    with pytest.raises(ValidationError):
        ModerationRequest.model_validate({"input": "hi", "contact": {}})
    flat = ModerateRequest.model_validate({"text": "hi", "contact": {"uuid": "x"}, "flow": {}, "model": ""})
    assert flat.input == "hi" and flat.model == "omni-moderation-latest"


def test_the_flat_form_takes_text_or_a_chat_platform_message_object() -> None:
    assert ModerateRequest.model_validate({"input": "a", "text": "b"}).input == "a"
    assert ModerateRequest.model_validate({"input": {"text": "hola", "attachments": []}}).input == "hola"
    single_part = ModerateRequest.model_validate({"input": {"type": "text", "text": "oi"}})
    assert wire_input(single_part.input) == [{"type": "text", "text": "oi"}]


@pytest.mark.parametrize(
    ("kinds", "expected"),
    [
        (None, None),
        ("", None),
        ([], None),
        (["email", "CPF"], ["email", "cpf"]),
        ("email, phone", ["email", "phone"]),
        ('["card","iban"]', ["card", "iban"]),
    ],
)
def test_redact_kinds_arrive_as_lists_or_strings(kinds: Any, expected: list[str] | None) -> None:
    assert RedactRequest.model_validate({"text": "x", "kinds": kinds}).kinds == expected


def test_redact_refuses_unknown_kinds_and_oversized_text() -> None:
    with pytest.raises(ValidationError, match="unknown PII kind"):
        RedactRequest.model_validate({"text": "x", "kinds": ["email", "passport"]})
    with pytest.raises(ValidationError, match="is over 64 KB"):
        RedactRequest.model_validate({"text": "a" * (MAX_INPUT_BYTES + 1)})
    assert RedactRequest.model_validate({"text": "", "ignored": 1}).text == ""
