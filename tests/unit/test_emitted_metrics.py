"""The source reading of EMF records (devtools/emitted_metrics.py): what it finds, and that it refuses to guess."""

from __future__ import annotations

from pathlib import Path

import pytest

from devtools.emitted_metrics import deployment_series, emitted_records, per_tenant_series

GAUGES = """
from atende.platform.metrics import record as emit

def gauges(tenant_id, stage, spent, late):
    dimensions = {"Stage": stage, "Tenant": tenant_id}
    counts = {"MonthToDateCostMicros": spent}
    counts["DayToDateCostMicros"] = spent
    timings = (("SweepLatency", late),)
    emit(dimensions, counts=counts, milliseconds={name: s for name, s in timings if s} or None)
"""
TURN = """
from atende.platform import metrics

def turn(tenant_id, stage):
    metrics.record({"Stage": stage}, counts={"CostMicros": 1}, metadata={"tenant": tenant_id, "bot": None})
"""


def _sources(tmp_path: Path, **modules: str) -> tuple[Path, ...]:
    for name, text in modules.items():
        (tmp_path / f"{name}.py").write_text(text, encoding="utf-8")
    return (tmp_path,)


def test_records_are_read_with_their_dimension_sets_metrics_and_properties(tmp_path: Path) -> None:
    records = emitted_records(_sources(tmp_path, gauges=GAUGES, turn=TURN))
    by_metrics = {record.metrics: record for record in records}
    gauges = by_metrics[frozenset({"MonthToDateCostMicros", "DayToDateCostMicros", "SweepLatency"})]
    assert gauges.dimension_sets == (frozenset({"Stage", "Tenant"}),) and not gauges.properties
    turn = by_metrics[frozenset({"CostMicros"})]
    assert turn.properties == {"tenant", "bot"} and turn.fields == {"CostMicros", "Stage", "tenant", "bot"}
    assert len(per_tenant_series(records)) == 3
    assert deployment_series(records) == {("CostMicros", frozenset({"Stage"}))}


def test_a_record_whose_dimensions_cannot_be_read_is_refused(tmp_path: Path) -> None:
    unreadable = TURN.replace('{"Stage": stage}', "dimensions_of(stage)")
    with pytest.raises(ValueError, match="cannot read this record"):
        emitted_records(_sources(tmp_path, turn=unreadable))


def test_emf_written_past_the_sink_is_refused(tmp_path: Path) -> None:
    direct = "def count(emf):\n    emf.add_metric(name='Requests', unit='Count', value=1)\n"
    with pytest.raises(ValueError, match="EMF written outside"):
        emitted_records(_sources(tmp_path, direct=direct))
