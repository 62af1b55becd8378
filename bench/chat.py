"""Chat benchmarks: gateway overhead over the upstream, AWS calls per warm turn, and function init time."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

TURNS = int(os.environ.get("BENCH_TURNS", "200"))
INIT_RUNS = int(os.environ.get("BENCH_INIT_RUNS", "5"))
TURNS_PER_CONVERSATION = 10


def percentiles(samples: list[float]) -> tuple[float, float, float]:
    quantiles = statistics.quantiles(samples, n=100, method="inclusive")
    return quantiles[49], quantiles[94], quantiles[98]


def _timed(fn: Callable[[], Any]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def ms(samples: list[float]) -> str:
    return " / ".join(f"{x * 1000:.1f}" for x in percentiles(samples))


def overhead_and_round_trips() -> list[str]:
    """Runs the chat function in-process (warm), against moto over HTTP and the fake upstream over HTTP."""
    import openai

    from atende.platform import aws
    from atende.providers import upstream
    from devtools.apigw import ApiGatewayEmulator
    from devtools.aws_local import EmbeddedAWS, apply_environ, provision
    from devtools.fake_openai import FakeOpenAI
    from devtools.functions import InThreadContainers
    from devtools.invocation_log import AwsCallMeter
    from devtools.local_env import LOCAL_FUNCTION_ENV
    from tests.support import ApiClient, create_tenant

    root = "atd_bench-root-key-000000000000000000000000000"
    aws_server = EmbeddedAWS().start()
    apply_environ(aws_server.environ())
    apply_environ(provision({"Stage": "bench"}, root_key=root).shared_env)
    apply_environ(LOCAL_FUNCTION_ENV)  # as the local stack's functions: the fake upstream listens on loopback
    os.environ["POWERTOOLS_LOG_LEVEL"] = "WARNING"
    fake = FakeOpenAI().start()
    api = ApiClient(ApiGatewayEmulator(InThreadContainers(), stage="bench"))  # one turn at a time, instrumented
    tenant = create_tenant(api, root)
    credential = {"api_key": "sk-bench-00000000", "base_url": fake.base_url}
    stored = tenant.call("PUT", "/v1/credentials/openai", json_body=credential)
    assert stored.status == 200, stored.text  # else every turn would measure a handoff, not a provider call
    created = tenant.call(
        "POST",
        "/v1/bots",
        json_body={
            "id": "bench",
            "rules": "Be brief.",
            "knowledge_base": "Shipping takes 3 days.\n\nReturns within 30 days.",
        },
    )
    assert created.status == 201, created.text
    key = tenant.new_key(["chat"])
    question = "How long does shipping take?"

    def turn_body(scenario: str, i: int) -> dict[str, str]:
        """Conversations of 10 turns (up to 20 stored messages), like a support chat, each reading its history."""
        return {"message": question, "conversation_id": f"bench-{scenario}-{i // TURNS_PER_CONVERSATION}"}

    # Baseline: the same upstream called directly with the real SDK, the same prompt size.
    client = openai.OpenAI(base_url=fake.base_url, api_key="sk-bench-00000000", max_retries=0)
    messages = [
        {"role": "system", "content": "Be brief.\n\nShipping takes 3 days."},
        {"role": "user", "content": question},
    ]
    for _ in range(20):
        client.chat.completions.create(model="gpt-4o-mini", messages=messages)  # type: ignore[arg-type]
    direct = [
        _timed(lambda: client.chat.completions.create(model="gpt-4o-mini", messages=messages))  # type: ignore[arg-type]
        for _ in range(TURNS)
    ]

    calls = AwsCallMeter()
    for service in ("dynamodb", "secretsmanager"):
        calls.attach(aws.client(service))
    calls.attach(aws.table(os.environ["TABLE_NAME"]).meta.client)
    upstream_time: list[float] = []
    original = upstream.chat_completion

    def timed_completion(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            upstream_time.append(time.perf_counter() - started)

    def measure(scenario: str) -> tuple[list[float], list[float], list[float], list[Counter[str]], list[int]]:
        path = "/v1/bots/bench/chat"
        for i in range(20):  # warm every cache: authorizer, bot, tenant, limits, credential, connection pools
            warm = api.call("POST", path, key=key, json_body=turn_body(f"{scenario}-warm", i))
            assert warm.status == 200 and not warm.json["handoff"], warm.text
        totals, upstreams, aws_seconds, per_turn, rounds = [], [], [], [], []
        for i in range(TURNS):
            calls.start()
            upstream_time.clear()
            body = turn_body(scenario, i)
            started = time.perf_counter()
            answer = api.call("POST", path, key=key, json_body=body)
            totals.append(time.perf_counter() - started)
            assert answer.status == 200 and not answer.json["handoff"], answer.text  # a real turn, not a handoff
            upstreams.append(upstream_time[0])
            aws_seconds.append(calls.aws_seconds)
            per_turn.append(Counter(calls.calls))
            rounds.append(calls.rounds)
        return totals, upstreams, aws_seconds, per_turn, rounds

    upstream.chat_completion = timed_completion  # type: ignore[assignment]
    totals, upstreams, aws_seconds, per_turn, plain_rounds = measure("plain")
    tenant.call("PUT", "/v1/limits", json_body={"monthly_budget_usd": 1000, "daily_budget_usd": 100})
    budgeted = measure("budget")
    upstream.chat_completion = original  # type: ignore[assignment]
    fake.stop()
    aws_server.stop()

    def round_trips(turns: list[Counter[str]], service: str) -> float:
        return statistics.median(sum(v for k, v in c.items() if k.startswith(service)) for c in turns)

    def rows(label: str, totals: list[float], upstreams: list[float], aws_seconds: list[float]) -> list[str]:
        added = [t - u for t, u in zip(totals, upstreams, strict=True)]
        own = [a - s for a, s in zip(added, aws_seconds, strict=True)]
        return [
            f"| {label}: whole turn through Atende | {ms(totals)} |",
            f"| {label}: upstream call inside the turn | {ms(upstreams)} |",
            f"| {label}: **added by Atende** (turn − upstream) | {ms(added)} |",
            f"| {label}: … of which AWS calls (moto on loopback) | {ms(aws_seconds)} |",
            f"| {label}: … of which Atende's own code | {ms(own)} |",
        ]

    ops = Counter[str]()
    for c in per_turn + budgeted[3]:
        ops.update(c)
    return [
        f"Warm chat turns: {TURNS} webhook turns per scenario, in conversations of {TURNS_PER_CONVERSATION} turns, "
        "through the in-process emulator "
        "(the chat function, which checks the key itself), moto over HTTP on loopback, the fake upstream over HTTP. "
        "The budgeted scenario adds the spend reservation to every turn.",
        "",
        "| measure | p50 / p95 / p99 (ms) |",
        "|---|---|",
        f"| upstream called directly with the openai SDK | {ms(direct)} |",
        *rows("no budget", totals, upstreams, aws_seconds),
        *rows("with a budget", *budgeted[:3]),
        "",
        "| scenario | AWS calls per warm turn (median) | sequential round trips per warm turn (median; target ≤ 2) "
        "| Secrets Manager calls on any warm turn |",
        "|---|---|---|---|",
        f"| no budget | {round_trips(per_turn, 'dynamodb'):g} | {statistics.median(plain_rounds):g} | "
        f"{max(sum(v for k, v in c.items() if k.startswith('secretsmanager')) for c in per_turn)} |",
        f"| with a budget | {round_trips(budgeted[3], 'dynamodb'):g} | {statistics.median(budgeted[4]):g} | "
        f"{max(sum(v for k, v in c.items() if k.startswith('secretsmanager')) for c in budgeted[3])} |",
        "",
        "AWS operations over all measured turns: " + ", ".join(f"`{k}` × {v}" for k, v in sorted(ops.items())),
    ]


def _import_seconds(statement: str) -> float:
    code = f"import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
    env = {**os.environ, "TABLE_NAME": "bench", "POWERTOOLS_TRACE_DISABLED": "true"}
    runs = []
    for _ in range(INIT_RUNS):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
        runs.append(float(out.stdout.strip().splitlines()[-1]))
    return statistics.median(runs)


def init_times() -> list[str]:
    """Cold import of each function module (what a Lambda init pays before SnapStart) against its floor."""
    load = "from devtools.functions import load_function; load_function('{}')"
    floor_chat = _import_seconds("import openai, boto3")
    floor_light = _import_seconds("import boto3")
    rows = [
        ("floor: `import openai, boto3`", floor_chat, None),
        ("chat function init", _import_seconds(load.format("chat")), floor_chat),
        ("moderate function init", _import_seconds(load.format("moderate")), floor_chat),
        ("floor: `import boto3`", floor_light, None),
        ("config function init", _import_seconds(load.format("config")), floor_light),
        ("authorizer function init", _import_seconds(load.format("authorizer")), floor_light),
    ]
    lines = [
        f"Cold init (median of {INIT_RUNS} fresh interpreters; includes the tokenizer load for chat):",
        "",
        "| module | seconds | × floor |",
        "|---|---|---|",
    ]
    for name, seconds, floor in rows:
        lines.append(f"| {name} | {seconds:.3f} | {'' if floor is None else f'{seconds / floor:.2f}'} |")
    return lines
