"""The strict local DynamoDB's pure rules: item sizes, write units, the per-item meter, the fault plan."""

from __future__ import annotations

import pytest

from devtools.strict_dynamodb.rules import FaultRule, Settings, Throughput, decide, item_size, read_units, write_units


def test_item_size_follows_dynamodb_rules() -> None:
    assert item_size({"pk": {"S": "héllo"}}) == 2 + 6
    assert item_size({"n": {"N": "12345"}}) == 1 + 4  # 5 significant digits: 3 bytes + 1
    assert item_size({"n": {"N": "-0.00100"}}) == 1 + 2  # leading and trailing zeros do not count
    assert item_size({"b": {"B": "AAECAw=="}}) == 1 + 4  # binary counts decoded bytes
    assert item_size({"m": {"M": {"a": {"BOOL": True}}}}) == 1 + 3 + (1 + 1 + 1)
    assert item_size({"l": {"L": [{"NULL": True}, {"S": "ab"}]}}) == 1 + 3 + (1 + 1) + (2 + 1)
    assert item_size({"ss": {"SS": ["a", "bc"]}}) == 2 + 3


def test_write_units_round_up_per_kb() -> None:
    assert write_units(0) == 1
    assert write_units(1024) == 1
    assert write_units(1025, 10) == 2


def test_throughput_is_all_or_nothing_and_refills() -> None:
    meter = Throughput()
    assert meter.take({"a": 2, "b": 1}, limit=2) == []
    assert meter.take({"a": 1, "b": 1}, limit=2) == ["a"]  # nothing charged: b still has 1
    assert meter.take({"b": 1}, limit=2) == []


def test_throughput_forgets_items_idle_long_enough_to_have_refilled(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [100.0]
    monkeypatch.setattr("devtools.strict_dynamodb.rules.time.monotonic", lambda: clock[0])
    meter = Throughput()
    for n in range(20_000):  # 1,000 writes a second, each to a new item (messages, reservations): a bucket each
        clock[0] += 0.001
        meter.take({f"new-{n}": 1}, limit=10)
    assert len(meter) <= 4 * 1000  # about a second's worth kept, not every item ever written
    assert "new-0" not in meter._buckets
    meter.take({"hot": 10}, limit=10)
    clock[0] += 0.5
    assert meter.take({"hot": 6}, limit=10) == ["hot"]  # half a second refilled 5: a busy item is still metered
    assert meter.take({"new-0": 10}, limit=10) == []  # a forgotten item has its full second of capacity


def test_fault_plan_counts_and_scopes() -> None:
    rules = [
        FaultRule("GetItem", "latency", latency_ms=5),
        FaultRule("GetItem", "error", table="orders", count=1),
        FaultRule("*", "reset", key="k#1"),
    ]
    assert decide(rules, "GetItem", ["orders"], "").rule is rules[1]
    second = decide(rules, "GetItem", ["orders"], '{"pk":{"S":"k#1"}}')
    assert (second.latency_ms, second.rule) == (5, rules[2])
    assert decide(rules, "PutItem", ["users"], "").rule is None
    with pytest.raises(ValueError):
        FaultRule("GetItem", "explode")
    with pytest.raises(ValueError):
        Settings().update({"nope": 1})


def test_read_units_follow_on_demand_rounding_and_consistency() -> None:
    small = {"pk": {"S": "t#1"}, "sk": {"S": "bot#demo"}}
    big = {"pk": {"S": "t#1"}, "body": {"S": "x" * 5000}}  # over 4 KB: two started 4 KB units
    assert read_units("GetItem", {}, {"Item": small}) == 0.5
    assert read_units("GetItem", {"ConsistentRead": True}, {"Item": big}) == 2.0
    assert read_units("GetItem", {}, {}) == 0.5  # a miss is billed too
    # a Query rounds up over all it returned, not item by item
    assert read_units("Query", {"ConsistentRead": True}, {"Items": [small] * 10}) == 1.0
    assert read_units("TransactGetItems", {}, {"Responses": [{"Item": small}, {"Item": big}]}) == 2.0 + 4.0
    assert read_units("PutItem", {}, {}) == 0.0
