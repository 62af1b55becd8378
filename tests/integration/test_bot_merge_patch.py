"""PATCH /v1/bots/{bot} as JSON Merge Patch (RFC 7386): nested objects merge, null resets, arrays replace."""

from __future__ import annotations

from typing import Any

import pytest

from atende.models.bots import BotSettings
from tests.support import TenantHandle


def _create(tenant: TenantHandle, **settings: Any) -> dict[str, Any]:
    body = {"id": "mp", "rules": "Be brief.", **settings}
    created = tenant.call("POST", "/v1/bots", json_body=body)
    assert created.status == 201, created.text
    return created.json


def _patch(tenant: TenantHandle, body: dict[str, Any], **kwargs: Any) -> Any:
    return tenant.call("PATCH", "/v1/bots/mp", json_body=body, **kwargs)


def _last_update(tenant: TenantHandle) -> dict[str, Any]:
    entries = tenant.call("GET", "/v1/audit").json["data"]
    return next(e for e in entries if e["action"] == "bot.update")


def test_a_nested_patch_keeps_the_other_fields_of_that_object(tenant: TenantHandle) -> None:
    _create(tenant, sampling={"temperature": 0.9, "max_tokens": 300})
    patched = _patch(tenant, {"version": 1, "sampling": {"temperature": 0.5}})
    assert patched.status == 200, patched.text
    assert patched.json["sampling"]["temperature"] == 0.5
    assert patched.json["sampling"]["max_tokens"] == 300
    assert tenant.call("GET", "/v1/bots/mp").json["sampling"]["max_tokens"] == 300
    assert _last_update(tenant)["changed"] == ["sampling.temperature"]


def test_patching_one_moderation_field_keeps_moderation_on(tenant: TenantHandle) -> None:
    _create(tenant, moderation={"mode": "both", "thresholds": {"hate": 0.3}})
    patched = _patch(tenant, {"version": 1, "moderation": {"on_flagged_input": "handoff"}})
    assert patched.status == 200, patched.text
    moderation = patched.json["moderation"]
    assert moderation["mode"] == "both" and moderation["thresholds"] == {"hate": 0.3}
    assert moderation["on_flagged_input"] == "handoff"
    assert _last_update(tenant)["changed"] == ["moderation.on_flagged_input"]


@pytest.mark.parametrize("field", sorted(BotSettings.model_fields))
def test_null_resets_every_top_level_field_to_its_default(tenant: TenantHandle, field: str) -> None:
    _create(
        tenant,
        name="Lía",
        enabled=False,
        model="gpt-4o",
        provider="backup",
        knowledge_base="Open 9 to 5.",
        prompts={"short": "Two sentences."},
        default_prompts=["short"],
        sampling={"temperature": 0.3},
        history={"max_history_tokens": 100},
        moderation={"mode": "input"},
        handoff={"keywords": ["human"]},
        instant_answers=[{"questions": ["hours?"], "answer": "9 to 5"}],
        fallbacks=[{"provider": "backup"}],
        redact_pii=True,
        deadline_seconds=5,
        language="pt",
    )
    # default_prompts must name a prompt: resetting prompts alone would leave a dangling name (a 400, below).
    body: dict[str, Any] = {"version": 1, field: None}
    patched = _patch(tenant, body)
    if field == "prompts":
        assert patched.status == 400 and patched.error["param"] == "default_prompts", patched.text
        body["default_prompts"] = None
        patched = _patch(tenant, body)
    assert patched.status == 200, patched.text
    default = BotSettings().model_dump(mode="json")[field]
    assert patched.json[field] == default
    assert field in {path.split(".")[0] for path in _last_update(tenant)["changed"]}


def test_null_resets_a_nested_field_and_arrays_replace(tenant: TenantHandle) -> None:
    _create(tenant, sampling={"temperature": 0.3, "max_tokens": 50}, handoff={"keywords": ["human", "agent"]})
    patched = _patch(tenant, {"version": 1, "sampling": {"max_tokens": None}, "handoff": {"keywords": ["person"]}})
    assert patched.status == 200, patched.text
    assert patched.json["sampling"] == {**patched.json["sampling"], "temperature": 0.3, "max_tokens": None}
    assert patched.json["handoff"]["keywords"] == ["person"]
    assert _last_update(tenant)["changed"] == ["handoff.keywords", "sampling.max_tokens"]


def test_the_merged_bot_is_validated_with_field_named_errors(tenant: TenantHandle) -> None:
    _create(tenant)
    out_of_range = _patch(tenant, {"version": 1, "sampling": {"temperature": 7}})
    assert out_of_range.status == 400 and out_of_range.error["param"] == "sampling.temperature", out_of_range.text
    unknown = _patch(tenant, {"version": 1, "sampling": {"temprature": 0.5}})
    assert unknown.status == 400 and unknown.error["param"] == "sampling.temprature", unknown.text
    wrong_type = _patch(tenant, {"version": 1, "enabled": "maybe"})
    assert wrong_type.status == 400 and wrong_type.error["param"] == "enabled", wrong_type.text
    assert tenant.call("GET", "/v1/bots/mp").json["version"] == 1, "a refused patch changes nothing"


def test_merge_patch_content_type_is_accepted_and_locking_still_holds(tenant: TenantHandle) -> None:
    _create(tenant)
    merge = {"Content-Type": "application/merge-patch+json", "If-Match": '"1"'}
    patched = tenant.call("PATCH", "/v1/bots/mp", data='{"rules": "Be kind."}', headers=merge)
    assert patched.status == 200, patched.text
    assert patched.json["rules"] == "Be kind." and patched.json["version"] == 2
    stale = tenant.call("PATCH", "/v1/bots/mp", data='{"rules": "x"}', headers=merge)
    assert stale.status == 412, stale.text
    as_post = tenant.call("POST", "/v1/bots", data='{"id": "x"}', headers={"Content-Type": merge["Content-Type"]})
    assert as_post.status == 415


def test_put_stays_a_full_replace(tenant: TenantHandle) -> None:
    _create(tenant, sampling={"temperature": 0.3, "max_tokens": 50})
    replaced = tenant.call("PUT", "/v1/bots/mp", json_body={"version": 1, "rules": "New.", "sampling": {"top_p": 0.5}})
    assert replaced.status == 200, replaced.text
    assert replaced.json["sampling"]["max_tokens"] is None and replaced.json["sampling"]["temperature"] is None
    assert _last_update(tenant)["changed"] == [
        "rules",
        "sampling.max_tokens",
        "sampling.temperature",
        "sampling.top_p",
    ]
