"""Per-tenant turn rate of the billing data model with the strict layer's per-item write limit, by counter shards."""

from __future__ import annotations

import contextlib
import json
import os
import random
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any

from devtools.functions import ROOT

ITEM_WCU = float(os.environ.get("BENCH_TP_ITEM_WCU", "40"))  # the strict layer's item_wcu_per_second here
SECONDS = float(os.environ.get("BENCH_TP_SECONDS", "6"))  # how long each rate is offered
WARM_SECONDS = float(os.environ.get("BENCH_TP_WARM_SECONDS", "2"))  # not counted: the meter starts with a full bucket
# offered turns/s, as fractions of ITEM_WCU
RATES = tuple(float(r) for r in os.environ.get("BENCH_TP_RATES", "0.125,0.25,0.5,1,1.5").split(","))
THREADS = int(os.environ.get("BENCH_TP_THREADS", "32"))
SHARD_CASES = (1, 4)
CLOUD_WCU = 1000.0  # what DynamoDB takes on one item per second
README_CEILING = 500.0  # the per-tenant rate the README promises at 4 shards (it computes ~1,000)
SETTLE_ATTEMPTS = 12
ROOT_KEY = "atd_bench-root-key-000000000000000000000000000"


@dataclass
class Row:
    shards: int
    offered: float
    achieved: float
    completed: int
    throttled: int
    conflicts: int
    contended_retries: int
    gave_up: int
    wcu_per_turn: float
    counter_wcu_per_turn: float  # on the one month counter shard a turn touches
    report_wcu_per_turn: float  # on the day report shard it touches


def _kind(key: Any) -> str:
    """Which item of the billing model a meter key (table, canonical key JSON) is."""
    text = str(key[1]) if isinstance(key, tuple) else str(key)
    if "COUNTER#" in text:
        return "counter" if "MONTH#" in text else "day"
    if "RESV#" in text:
        return "reservation"
    if "USAGE#" in text:
        return "report"
    return "message"


class Meter:
    """Wraps the strict layer's per-item meter: the write units it charged (granted requests only), by item kind."""

    def __init__(self, layer: Any) -> None:
        self.units: Counter[str] = Counter()
        self.lock = threading.Lock()
        original = layer.throughput.take

        def take(costs: dict[Any, int], limit: float) -> list[Any]:
            short = original(costs, limit)
            if not short:
                with self.lock:
                    for key, cost in costs.items():
                        self.units[_kind(key)] += cost
            return list(short)

        layer.throughput.take = take

    def take_units(self) -> Counter[str]:
        with self.lock:
            units, self.units = self.units, Counter()
        return units


def _case(shards: int) -> list[Row]:
    """In a fresh interpreter (settings are cached): the embedded strict AWS, one tenant, each rate in turn."""
    os.environ["BUDGET_COUNTER_SHARDS"] = str(shards)
    os.environ["POWERTOOLS_LOG_LEVEL"] = "WARNING"
    os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
    import boto3

    from atende.billing import reservations, values
    from atende.platform.errors import UpstreamUnavailable
    from atende.platform.settings import get_settings
    from atende.store import stores
    from atende.store.conversations import conversation_pk
    from atende.store.counters import Contended
    from devtools.apigw import ApiGatewayEmulator
    from devtools.aws_local import EmbeddedAWS, apply_environ, provision
    from devtools.functions import InThreadContainers
    from tests.support import ApiClient, create_tenant

    aws = EmbeddedAWS(strict=True).start()
    apply_environ(aws.environ())
    boto3.setup_default_session()
    apply_environ(provision({"Stage": "bench", "BudgetCounterShards": str(shards)}, root_key=ROOT_KEY).shared_env)
    assert get_settings().budget_counter_shards == shards
    handle = create_tenant(ApiClient(ApiGatewayEmulator(InThreadContainers(), stage="bench")), ROOT_KEY)
    answer = handle.call("PUT", "/v1/limits", json_body={"monthly_budget_usd": 1_000_000})
    assert answer.status == 200, answer.text
    tenant = stores().tenants.require(handle.id)
    assert aws.strict is not None
    control, meter = aws.strict, Meter(aws.server.app)
    usage = values.Usage(input_tokens=400, cached_input_tokens=100, output_tokens=200)

    def turn(i: int, stop: float, tally: Counter[str], lock: threading.Lock) -> float | None:
        """One turn's billing steps, as tests/integration/test_limits_concurrency.py `run_turns` drives them."""
        try:
            reservation = reservations.reserve(tenant, f"req-{uuid.uuid4().hex}", 100_000, tokens=800)
        except UpstreamUnavailable:
            with lock:
                tally["gave_up"] += 1
            return None
        message = {
            "Put": {
                "TableName": stores().usage.name,
                "Item": {"PK": conversation_pk(handle.id, "shop", f"c{i}"), "SK": "MSG#0000000001", "n": i},
                "ConditionExpression": "attribute_not_exists(PK)",
            }
        }
        operations = reservations.settlement_operations(reservation, 60_000, usage, bot_id="shop", model="gpt-4o")
        for attempt in range(SETTLE_ATTEMPTS):
            try:
                stores().counters.transact([message, *operations], token=f"turn-{reservation.request_id}-{attempt}")
                return time.monotonic()
            except Contended:
                with lock:
                    tally["contended"] += 1
                if time.monotonic() > stop:
                    break
                time.sleep(random.uniform(0.005, 0.01 * 2 ** min(attempt, 6)))
        with contextlib.suppress(UpstreamUnavailable):  # else the hold expires on its own
            reservations.release(reservation)
        with lock:
            tally["gave_up"] += 1
        return None

    rows: list[Row] = []
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        for fraction in RATES:
            rate = fraction * ITEM_WCU
            control.reset()  # full buckets, counters cleared; data is kept
            control.settings(item_wcu_per_second=ITEM_WCU)
            meter.take_units()
            tally, lock = Counter[str](), threading.Lock()
            started = time.monotonic()
            stop = started + SECONDS
            futures = []
            for i in range(int(rate * SECONDS)):
                time.sleep(max(0.0, started + i / rate - time.monotonic()))
                futures.append(pool.submit(turn, len(rows) * 100_000 + i, stop + 2.0, tally, lock))
            finished = [f.result() for f in futures]
            units = meter.take_units()
            done = [t for t in finished if t is not None]
            window = [t for t in done if started + WARM_SECONDS <= t <= stop]
            counts = control.counts()
            rows.append(
                Row(
                    shards=shards,
                    offered=rate,
                    achieved=len(window) / (SECONDS - WARM_SECONDS),
                    completed=len(done),
                    throttled=int(counts.get("throttled", 0)),
                    conflicts=int(counts.get("transaction_conflicts", 0)),
                    contended_retries=tally["contended"],
                    gave_up=tally["gave_up"],
                    wcu_per_turn=sum(units.values()) / max(1, len(done)),
                    counter_wcu_per_turn=units["counter"] / max(1, len(done)),
                    report_wcu_per_turn=units["report"] / max(1, len(done)),
                )
            )
    aws.stop()
    return rows


def _run_case(shards: int) -> list[Row]:
    env = {**os.environ, "BUDGET_COUNTER_SHARDS": str(shards)}
    out = subprocess.run(
        [sys.executable, "-m", "bench.throughput", str(shards)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"the {shards}-shard case failed:\n{out.stderr[-3000:]}")
    return [Row(**row) for row in json.loads(out.stdout.strip().splitlines()[-1])]


def throughput() -> list[str]:
    """Both shard cases, each in its own interpreter, as a markdown table."""
    rows = [row for shards in SHARD_CASES for row in _run_case(shards)]
    lines = [
        f"The billing steps of a turn (reserve, then the settlement transaction with one message, retried while "
        f"contended) driven directly at a fixed offered rate for {SECONDS:g} s each, {THREADS} threads, one tenant "
        f"with a monthly budget, the strict layer limiting every item to {ITEM_WCU:g} WCU/s "
        f"(DynamoDB: {CLOUD_WCU:,.0f}). Achieved counts turns settled after the first {WARM_SECONDS:g} s (the meter "
        "starts with a full second of capacity). WCU are what the strict layer's meter charged (transactional "
        "writes at 2×), per settled turn. Implied ceiling: achieved ÷ limit × 1,000, meaningful where throttled.",
        "",
        "| shards | offered turns/s | achieved turns/s | throttles | transaction conflicts | contended retries "
        "| gave up | WCU / turn (all items) | … on its counter shard | … on its day report shard "
        "| implied turns/s at 1,000 WCU/s |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r.shards} | {r.offered:.1f} | {r.achieved:.1f} | {r.throttled} | {r.conflicts} | "
            f"{r.contended_retries} | "
            f"{r.gave_up} | {r.wcu_per_turn:.1f} | {r.counter_wcu_per_turn:.1f} | {r.report_wcu_per_turn:.1f} | "
            f"{r.achieved / ITEM_WCU * CLOUD_WCU:,.0f} |"
        )
    lines.append("")
    for shards in SHARD_CASES:
        case = [r for r in rows if r.shards == shards]
        best = max(r.achieved for r in case)
        calm = case[0]  # the lowest rate: no waste on retries or given-back holds
        hot = max(calm.counter_wcu_per_turn, calm.report_wcu_per_turn)
        throttling = next((f"from {r.offered:.1f} turns/s offered" for r in case if r.throttled), "at no rate offered")
        conflicts = next((f"from {r.offered:.1f}" for r in case if r.conflicts), "at no rate offered")
        target = ""
        if shards > 1:
            ok = best / ITEM_WCU * CLOUD_WCU >= README_CEILING
            target = f"; README target ≥ {README_CEILING:,.0f}: {'PASS' if ok else '**FAIL**'}"
        lines.append(
            f"- {shards} shard{'s' if shards > 1 else ''}: best {best:.1f} turns/s at {ITEM_WCU:g} WCU/s per item "
            f"(→ {best / ITEM_WCU * CLOUD_WCU:,.0f} at 1,000); hottest item {hot:.1f} WCU per turn at the lowest "
            f"rate, so the arithmetic ceiling is {shards * ITEM_WCU / max(hot, 1e-9):.1f} turns/s here "
            f"({shards * CLOUD_WCU / max(hot, 1e-9):,.0f} at 1,000); throttles {throttling}, "
            f"transaction conflicts {conflicts}{target}"
        )
    return lines


if __name__ == "__main__":
    if len(sys.argv) > 1:
        print(json.dumps([asdict(row) for row in _case(int(sys.argv[1]))]))
    else:
        print("\n".join(throughput()))
