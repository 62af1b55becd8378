"""docs/operations.md stays true to the code: its troubleshooting table covers every status callers meet, and every
error code, metric and alarm suffix it names exists in the source or the template."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGE = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
SOURCES = "\n".join(
    path.read_text(encoding="utf-8")
    for pattern in ("layers/core/atende/**/*.py", "functions/*/app.py", "template.yaml", "infra/sam/*.json")
    for path in ROOT.glob(pattern)
)


def _table_rows() -> dict[str, str]:
    section = PAGE.split("## Troubleshooting", 1)[1]
    return {m[1]: m[2] for m in re.finditer(r"^\| (\d{3}) \|(.*)$", section, re.M)}


def test_the_troubleshooting_table_has_a_row_per_status() -> None:
    assert sorted(_table_rows()) == ["400", "401", "403", "404", "409", "413", "415", "429", "502", "503", "504"]


def test_every_error_code_in_the_table_exists_in_the_code() -> None:
    named = {code for row in _table_rows().values() for code in re.findall(r"`([a-z_]{4,})`", row)}
    missing = sorted(code for code in named if f'"{code}"' not in SOURCES and f"{code}:" not in SOURCES)
    assert named and not missing, missing


def test_every_metric_on_the_page_is_emitted() -> None:
    section = PAGE.split("## Metrics", 1)[1].split("## Dashboard", 1)[0]
    metrics = set(re.findall(r"`([A-Z][A-Za-z]+)`", section)) - {"Atende", "Tenant", "Stage"}
    assert metrics and all(f'"{metric}"' in SOURCES for metric in metrics), metrics
