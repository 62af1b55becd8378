"""JSON Merge Patch against RFC 7386's Appendix A examples, and the dotted paths of a change."""

from __future__ import annotations

from typing import Any

import pytest

from atende.admin.merge_patch import changed_paths, merge_patch

RFC_7386_APPENDIX_A = [
    ({"a": "b"}, {"a": "c"}, {"a": "c"}),
    ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
    ({"a": "b"}, {"a": None}, {}),
    ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
    ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
    ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
    ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
    ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
    (["a", "b"], ["c", "d"], ["c", "d"]),
    ({"a": "b"}, ["c"], ["c"]),
    ({"a": "foo"}, None, None),
    ({"a": "foo"}, "bar", "bar"),
    ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
    ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
    ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
]


@pytest.mark.parametrize(("target", "patch", "result"), RFC_7386_APPENDIX_A)
def test_merge_patch_matches_the_rfc_examples(target: Any, patch: Any, result: Any) -> None:
    assert merge_patch(target, patch) == result


def test_merge_patch_leaves_the_target_untouched() -> None:
    target = {"sampling": {"temperature": 1.0, "max_tokens": 10}}
    merge_patch(target, {"sampling": {"temperature": None}})
    assert target == {"sampling": {"temperature": 1.0, "max_tokens": 10}}


def test_changed_paths_name_nested_leaves_and_whole_lists() -> None:
    before = {"rules": "a", "sampling": {"temperature": 1.0, "max_tokens": 10}, "keywords": ["x"]}
    after = {"rules": "a", "sampling": {"temperature": 0.5, "max_tokens": 10}, "keywords": ["x", "y"], "new": 1}
    assert changed_paths(before, after) == ["keywords", "new", "sampling.temperature"]
    assert changed_paths(before, before) == []


def test_a_bot_patch_can_send_every_bot_setting() -> None:
    from atende.models.bots import BotPatch, BotSettings

    assert set(BotPatch.model_fields) - {"version"} == set(BotSettings.model_fields)
