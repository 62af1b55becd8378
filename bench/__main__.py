"""`make bench`: runs every benchmark and writes bench/results.md (numbers are ratios within one run)."""

from __future__ import annotations

import platform
import sys
from datetime import UTC, datetime
from pathlib import Path

from bench import aws_cost, chat, peers, soak, throughput

RESULTS = Path(__file__).resolve().parent / "results.md"


def main() -> int:
    comparison = peers.compare()
    sections = [
        "# Atende benchmarks",
        "",
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.machine()}, Python {platform.python_version()}. "
        "Compare rows of one run with each other; absolute numbers depend on the machine.",
        "",
        "## Chat overhead and AWS round trips",
        "",
        *chat.overhead_and_round_trips(),
        "",
        "## Atende beside LiteLLM's proxy",
        "",
        *peers.tables(comparison),
        "",
        "## What a turn costs on AWS",
        "",
        *aws_cost.section(comparison),
        "",
        "## Function init",
        "",
        *chat.init_times(),
        "",
        "## Soak: the local stack over many turns",
        "",
        *soak.soak(),
        "",
        "## Per-tenant turn rate under the per-item write limit",
        "",
        *throughput.throughput(),
        "",
    ]
    RESULTS.write_text("\n".join(sections), encoding="utf-8")
    print("\n".join(sections))
    print(f"wrote {RESULTS.name}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
