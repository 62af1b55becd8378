"""Moderation: OpenAI's answer passed through, the flat webhook form, and the chat gate with its metrics."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import ValidationError

from atende.models.bots import ModerationPolicy
from atende.models.moderation import (
    DEFAULT_MODERATION_MODEL,
    ModerateResponse,
    ModerationResponse,
    ModerationResult,
    canonical_category,
    category_alias,
)
from atende.platform.errors import AtendeError, UpstreamError
from atende.platform.metrics import record
from atende.platform.observability import logger
from atende.platform.settings import get_settings
from atende.providers import upstream
from atende.providers.upstream import Deadline

type GateStage = Literal["input", "output"]
API_STAGE = "api"  # the metrics' `gate` property for the /v1/moderations and /v1/moderate endpoints


@dataclass(frozen=True)
class GateDecision:
    """What the moderation gate decided about one text of a chat turn (scores and categories, never the text)."""

    stage: GateStage
    checked: bool  # False when the policy does not cover this stage or there is no text (no upstream call made)
    flagged: bool  # OpenAI's flag OR any score >= the policy's threshold for that category
    categories: list[str]  # the categories that tripped, highest score first
    scores: dict[str, float] = field(default_factory=dict)  # every category score, under OpenAI's names
    error: str | None = None  # why moderation itself failed, if it did
    fail_mode: Literal["open", "closed"] | None = None  # the policy applied because of `error`

    @property
    def blocked(self) -> bool:
        """The text must not pass: it was flagged, or moderation failed and the bot fails closed."""
        return self.flagged or (self.error is not None and self.fail_mode == "closed")

    def record(self) -> dict[str, Any]:
        """What the turn stores and returns about this decision."""
        return {
            "stage": self.stage,
            "flagged": self.flagged,
            "categories": list(self.categories),
            "scores": dict(self.scores),
            "error": self.error,
            "fail_mode": self.fail_mode,
        }


def covers(policy: ModerationPolicy, stage: GateStage) -> bool:
    """Whether the bot's policy moderates this stage of a turn."""
    return policy.mode in (stage, "both")


def gate(tenant_id: str, text: str, policy: ModerationPolicy, stage: GateStage, deadline: Deadline) -> GateDecision:
    """Moderate one text of a chat turn under the bot's policy.

    Never raises for a failing upstream: the failure becomes `error`, and the policy's `fail_mode` says whether
    the text passes (open) or is blocked (closed). Emits one EMF record per checked decision.
    """
    if not covers(policy, stage) or not text.strip():
        return GateDecision(stage, checked=False, flagged=False, categories=[])
    try:
        result = upstream.moderation(tenant_id, text, DEFAULT_MODERATION_MODEL, deadline)
        decision = decide(stage, parse(result.body).results, policy.thresholds)
    except AtendeError as error:
        decision = _failed(stage, f"{error.code}: {error.message}", policy)
    except Exception as error:  # noqa: BLE001 — a guard must not take the turn down: the fail mode decides
        logger.exception("moderation failed unexpectedly", extra={"stage": stage})
        decision = _failed(stage, f"internal_error: {type(error).__name__}", policy)
    emit_moderation(
        tenant_id,
        stage,
        checks=1,
        flagged=int(decision.flagged),
        errors=int(decision.error is not None),
        blocked=int(decision.blocked),
    )
    if decision.error is not None:
        logger.warning(
            "moderation unavailable", extra={"stage": stage, "error": decision.error, "fail_mode": decision.fail_mode}
        )
    elif decision.flagged:
        logger.info("moderation flagged", extra={"stage": stage, "categories": decision.categories})
    return decision


def _failed(stage: GateStage, error: str, policy: ModerationPolicy) -> GateDecision:
    return GateDecision(stage, True, False, [], {}, error=error, fail_mode=policy.fail_mode)


def decide(stage: GateStage, results: Iterable[ModerationResult], thresholds: Mapping[str, float]) -> GateDecision:
    """The gate's verdict on moderation results: OpenAI's flags, plus any score at or above its threshold."""
    openai_flagged, scores, flagged_names = _merge(results)
    limits = normalize_thresholds(thresholds)
    tripped = flagged_names | {c for c, score in scores.items() if c in limits and score >= limits[c]}
    categories = _ranked(tripped, scores)
    return GateDecision(stage, True, openai_flagged or bool(categories), categories, scores)


def normalize_thresholds(thresholds: Mapping[str, float]) -> dict[str, float]:
    """Thresholds under OpenAI's category names; `self_harm_intent` and `self-harm/intent` are one category.

    When both spellings are given, the stricter (lower) threshold wins.
    """
    limits: dict[str, float] = {}
    for name, value in thresholds.items():
        category = canonical_category(name) or name
        limits[category] = min(float(value), limits.get(category, float(value)))
    return limits


# --- the endpoints --------------------------------------------------------------------------------------------------
def moderate(
    tenant_id: str,
    inputs: str | list[Any],
    model: str = DEFAULT_MODERATION_MODEL,
    *,
    deadline: Deadline | None = None,
) -> ModerationResponse:
    """OpenAI moderation for POST /v1/moderations and /v1/moderate: the provider's answer, shape-checked.

    The deadline defaults to the webhook deadline, so a workflow tool gets an answer inside its own timeout.
    """
    deadline = deadline or Deadline(get_settings().webhook_deadline_seconds)
    try:
        response = parse(upstream.moderation(tenant_id, inputs, model, deadline).body)
    except AtendeError:
        emit_moderation(tenant_id, API_STAGE, checks=_input_count(inputs), flagged=0, errors=1)
        raise
    flagged = sum(1 for result in response.results if result.flagged)
    emit_moderation(tenant_id, API_STAGE, checks=len(response.results), flagged=flagged, errors=0)
    return response


def parse(body: Any) -> ModerationResponse:
    """The provider's moderation JSON as a model; a body of another shape is the provider's failure (502)."""
    try:
        return ModerationResponse.model_validate(body)
    except ValidationError:
        raise UpstreamError(
            "The moderation provider answered in an unexpected shape.", code="provider_bad_response"
        ) from None


def flatten(response: ModerationResponse) -> ModerateResponse:
    """The flat answer of POST /v1/moderate, easy to branch on in a workflow tool.

    For a list input, `flagged` is any result's flag and each category keeps its highest score.
    """
    openai_flagged, scores, flagged_names = _merge(response.results)
    ranked = _ranked(scores, scores)
    category_scores: dict[str, float] = {}
    for category, score in scores.items():
        category_scores[category] = score
        category_scores.setdefault(category_alias(category), score)
    return ModerateResponse(
        flagged=openai_flagged or bool(flagged_names),
        flagged_categories=_ranked(flagged_names, scores),
        top_category=ranked[0] if ranked else None,
        top_score=scores[ranked[0]] if ranked else 0.0,
        category_scores=category_scores,
        model=response.model,
    )


# --- shared pieces --------------------------------------------------------------------------------------------------
def _merge(results: Iterable[ModerationResult]) -> tuple[bool, dict[str, float], set[str]]:
    """Any result's flag, each category's highest score, and every category some result flagged."""
    flagged, scores, names = False, dict[str, float](), set[str]()
    for result in results:
        flagged = flagged or result.flagged
        for category, score in result.category_scores.items():
            if score is not None:
                scores[category] = max(float(score), scores.get(category, 0.0))
        names |= {category for category, hit in result.categories.items() if hit}
    return flagged, scores, names


def _ranked(categories: Iterable[str], scores: Mapping[str, float]) -> list[str]:
    """Highest score first; ties by name, so the order is stable."""
    return sorted(categories, key=lambda category: (-scores.get(category, 0.0), category))


def _input_count(inputs: str | list[Any]) -> int:
    if isinstance(inputs, list) and inputs and all(isinstance(item, str) for item in inputs):
        return len(inputs)
    return 1  # a string, or one multimodal list of parts


def emit_moderation(
    tenant_id: str, gate: str, *, checks: int, flagged: int, errors: int, blocked: int | None = None
) -> None:
    """One record per moderation decision, dimension Stage (the deployment's) only.

    The tenant and the gate (input, output, or `api` for the endpoints) ride as properties, for Logs Insights.
    """
    counts = {"ModerationChecks": checks, "ModerationFlagged": flagged, "ModerationErrors": errors}
    if blocked is not None:
        counts["ModerationBlocked"] = blocked
    record({"Stage": get_settings().stage}, counts=counts, metadata={"tenant": tenant_id, "gate": gate})
