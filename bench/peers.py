"""Atende beside LiteLLM's proxy in one run: interleaved rounds on one fake upstream, latency, CPU and AWS work.

Each round calls, one after another with the same openai SDK settings: the upstream directly, LiteLLM's proxy, Atende
with a plain model, and Atende with `bot:demo` in a 10-turn conversation; the demo tenant has a budget. Both servers
run as their own processes (`.bench-peers/bin/litellm`, `python -m devtools.stack`), so each is a whole server
over HTTP. Atende's invocations and their AWS calls come from the stack's invocation log (botocore hooks in its
workers), its DynamoDB units from the strict layer's meter.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import tempfile
import time
import urllib.request
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.chat import percentiles
from bench.soak import Stack, descendants
from devtools.aws_local import free_port
from devtools.fake_openai import FakeOpenAI
from devtools.functions import ROOT
from devtools.processes import stop_gracefully

ROUNDS = int(os.environ.get("BENCH_PEER_ROUNDS", "300"))
WARM_ROUNDS = 20
TURNS_PER_CONVERSATION = 10
LITELLM = ROOT / ".bench-peers" / "bin" / "litellm"
START_SECONDS = 180.0
PLAIN_TARGET, BOT_TARGET = 1.0, 1.5  # times LiteLLM's added latency
QUESTION = "¿Hacen envíos a Cusco y cuánto tardan?"
PATHS = ("direct", "litellm", "atende plain", "atende bot")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU of one process so far, from /proc/<pid>/stat (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def tree_cpu(pid: int) -> tuple[float, float]:
    """CPU seconds of a process and, separately, of everything below it (a stack's function workers)."""
    return cpu_seconds(pid), sum(cpu_seconds(child) for child in descendants(pid))


def worker_peaks(pid: int) -> dict[str, float]:
    """Peak RSS (VmHWM, MiB) of each function's largest worker below the stack process `pid`."""
    peaks: dict[str, float] = {}
    for child in descendants(pid):
        try:
            argv = Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0")
            status = Path(f"/proc/{child}/status").read_text()
        except OSError:
            continue
        if b"devtools.lambda_worker" not in argv:
            continue
        name = argv[argv.index(b"devtools.lambda_worker") + 1].decode()
        kib = next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:")), 0)
        peaks[name] = max(peaks.get(name, 0.0), kib / 1024)
    return peaks


class LiteLLMProxy:
    """LiteLLM's proxy as its own process: no database, the local cost map, a random master key."""

    def __init__(self, upstream_base_url: str) -> None:
        if not LITELLM.exists():
            raise RuntimeError(f"{LITELLM.relative_to(ROOT)} is missing: `make bench-peers` installs it")
        self.port, self.master_key = free_port(), "sk-" + secrets.token_hex(16)
        self.config = tempfile.NamedTemporaryFile("w", prefix="litellm-", suffix=".yaml")  # noqa: SIM115
        model = {"model": "openai/gpt-4o-mini", "api_base": upstream_base_url, "api_key": "sk-bench-upstream"}
        config = {"model_list": [{"model_name": "gpt-4o-mini", "litellm_params": model}]}
        self.config.write(json.dumps(config))  # JSON is YAML
        self.config.flush()
        self.log = tempfile.NamedTemporaryFile(prefix="litellm-", suffix=".log")  # noqa: SIM115
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "DATABASE_URL", "LITELLM_"))}
        env.update(LITELLM_LOCAL_MODEL_COST_MAP="True", LITELLM_MASTER_KEY=self.master_key, LITELLM_TELEMETRY="False")
        self.process = subprocess.Popen(
            [str(LITELLM), "--config", self.config.name, "--host", "127.0.0.1", "--port", str(self.port)],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + START_SECONDS
        while not self._alive():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("LiteLLM's proxy did not start:\n" + Path(self.log.name).read_text()[-3000:])
            time.sleep(0.5)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def _alive(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health/liveliness", timeout=2) as answer:
                return bool(answer.status == 200)
        except OSError:
            return False

    def stop(self) -> None:
        stop_gracefully(self.process)
        self.config.close()
        self.log.close()


@dataclass
class PathStats:
    """One path's measurements over the timed rounds."""

    seconds: list[float] = field(default_factory=list)
    server_cpu: float = 0.0  # the server's own process
    worker_cpu: float = 0.0  # its function workers (Atende only)
    invocations: Counter[str] = field(default_factory=Counter)  # function -> invocations
    calls: Counter[str] = field(default_factory=Counter)  # `service.Operation` -> calls, all functions
    function_seconds: dict[str, list[float]] = field(default_factory=dict)  # function -> each invocation's seconds
    function_aws_seconds: dict[str, list[float]] = field(default_factory=dict)
    function_calls: dict[str, Counter[str]] = field(default_factory=dict)  # function -> its `service.Op` calls
    read_units: float = 0.0
    write_units: float = 0.0

    @property
    def turns(self) -> int:
        return len(self.seconds)

    def per_turn(self, count: float) -> float:
        return count / max(1, self.turns)

    def round_trips(self, service: str) -> float:
        return self.per_turn(sum(n for name, n in self.calls.items() if name.startswith(f"{service}.")))


@dataclass
class Comparison:
    """Everything one run measured, for the tables and the cost model."""

    rounds: int
    stats: dict[str, PathStats]
    upstream_p50: float
    worker_peak_mib: dict[str, float]  # function -> the largest VmHWM among its workers


def _strict_counts(endpoint: str) -> Counter[str]:
    with urllib.request.urlopen(f"{endpoint}/_strict/stats", timeout=10) as answer:
        return Counter(json.loads(answer.read())["counts"])


def _invocations(url: str, since: int) -> tuple[int, list[dict[str, Any]]]:
    with urllib.request.urlopen(f"{url}/_local/invocations?since={since}", timeout=10) as answer:
        payload = json.loads(answer.read())
    return int(payload["next"]), list(payload["invocations"])


def _set_budget(stack: Stack) -> None:
    body = json.dumps({"monthly_budget_usd": 1000, "daily_budget_usd": 100}).encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{stack.port}/v1/limits",
        data=body,
        method="PUT",
        headers={"Authorization": f"Bearer {stack.admin_key}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        assert answer.status == 200, answer.status


def compare() -> Comparison:
    """Runs WARM_ROUNDS untimed and ROUNDS timed interleaved rounds; returns what they measured."""
    import openai

    upstream = FakeOpenAI().start()
    environment = {
        "OPENAI_API_KEY": "sk-bench-upstream",  # seeds the demo credential with the shared upstream
        "OPENAI_BASE_URL": upstream.base_url,
        "ATENDE_LOCAL_INVOCATION_LOG": "1",
        "ATENDE_ALARM_INTERVAL_SECONDS": "3600",  # no alarm evaluations among the timed rounds
    }
    litellm = stack = None
    try:
        litellm = LiteLLMProxy(upstream.base_url)
        stack = Stack(environment)
        _set_budget(stack)

        def sdk(base_url: str, key: str) -> Any:
            return openai.OpenAI(base_url=base_url, api_key=key, max_retries=0, timeout=60)

        direct, peer = sdk(upstream.base_url, "sk-bench-upstream"), sdk(litellm.base_url, litellm.master_key)
        atende = sdk(f"http://127.0.0.1:{stack.port}/v1", stack.chat_key)
        messages = [{"role": "user", "content": QUESTION}]

        def bot_turn(n: int) -> Callable[[], Any]:
            conversation = f"bench-peer-{n // TURNS_PER_CONVERSATION}"
            return lambda: atende.chat.completions.create(
                model="bot:demo", messages=messages, extra_body={"conversation_id": conversation}
            )

        calls: dict[str, Callable[[int], Callable[[], Any]]] = {
            "direct": lambda n: lambda: direct.chat.completions.create(model="gpt-4o-mini", messages=messages),
            "litellm": lambda n: lambda: peer.chat.completions.create(model="gpt-4o-mini", messages=messages),
            "atende plain": lambda n: lambda: atende.chat.completions.create(model="gpt-4o-mini", messages=messages),
            "atende bot": bot_turn,
        }
        servers = {"litellm": litellm.process.pid, "atende plain": stack.process.pid, "atende bot": stack.process.pid}
        stats = {path: PathStats() for path in PATHS}
        sequence, _ = _invocations(f"http://127.0.0.1:{stack.port}", 0)
        for n in range(-WARM_ROUNDS, ROUNDS):
            for path in PATHS:
                call, pid = calls[path](n), servers.get(path)
                is_atende = path.startswith("atende")
                units_before = _strict_counts(stack.aws.endpoint) if is_atende else Counter[str]()
                cpu_before = tree_cpu(pid) if pid else (0.0, 0.0)
                started = time.perf_counter()
                call()
                elapsed = time.perf_counter() - started
                cpu_after = tree_cpu(pid) if pid else (0.0, 0.0)
                units_after = _strict_counts(stack.aws.endpoint) if is_atende else Counter[str]()
                if is_atende:
                    sequence, invoked = _invocations(f"http://127.0.0.1:{stack.port}", sequence)
                if n < 0:
                    continue
                record = stats[path]
                record.seconds.append(elapsed)
                record.server_cpu += cpu_after[0] - cpu_before[0]
                record.worker_cpu += cpu_after[1] - cpu_before[1]
                if is_atende:
                    record.read_units += (units_after["read_half_units"] - units_before["read_half_units"]) / 2
                    record.write_units += units_after["write_units"] - units_before["write_units"]
                    for invocation in invoked:
                        name = invocation["function"]
                        record.invocations[name] += 1
                        record.calls.update(invocation["calls"])
                        record.function_seconds.setdefault(name, []).append(invocation["seconds"])
                        record.function_aws_seconds.setdefault(name, []).append(invocation["aws_seconds"])
                        record.function_calls.setdefault(name, Counter()).update(invocation["calls"])
        return Comparison(ROUNDS, stats, percentiles(stats["direct"].seconds)[0], worker_peaks(stack.process.pid))
    finally:
        for server in (stack, litellm):
            if server is not None:
                server.stop()
        upstream.stop()


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def _verdict(ratio: float, target: float) -> str:
    if ratio <= target:
        return f"met (≤ {target:g} ×)"
    return f"**missed** by {ratio / target - 1:.0%} (target ≤ {target:g} ×)"


def tables(run: Comparison) -> list[str]:
    """The latency/CPU table with the ratios to LiteLLM, and the AWS work per turn."""
    direct = percentiles(run.stats["direct"].seconds)
    added = {
        path: tuple(p - d for p, d in zip(percentiles(run.stats[path].seconds), direct, strict=True))
        for path in PATHS[1:]
    }
    lines = [
        f"{run.rounds} interleaved rounds (after {WARM_ROUNDS} untimed), each: the fake upstream called directly, "
        "LiteLLM's proxy, Atende with a plain model, Atende with `bot:demo` in a conversation of "
        f"{TURNS_PER_CONVERSATION} turns; the demo tenant has a monthly and a daily budget, so both Atende paths "
        "reserve and settle. One openai SDK client per path, the same settings (`max_retries=0`, keep-alive). LiteLLM "
        "1.108 runs with `LITELLM_LOCAL_MODEL_COST_MAP=True`, a random master key, no database; Atende as "
        "`python -m devtools.stack` (embedded moto behind the strict DynamoDB layer, IAM enforced, function "
        "workers). Both call the same fake upstream (TCP_NODELAY). Added = the path's percentile − the direct "
        "call's same percentile. CPU per request: user + system time from /proc over each request, of the server "
        "process and (Atende) of its worker processes.",
        "",
        "| path | p50 / p95 / p99 ms | added over direct, p50 / p95 / p99 ms | server process CPU ms / request "
        "| worker processes CPU ms / request | added p50 × LiteLLM | target |",
        "|---|---|---|---|---|---|---|",
        f"| upstream directly | {' / '.join(_ms(x) for x in direct)} | | | | | |",
    ]
    peer = added["litellm"][0]
    for path in PATHS[1:]:
        record, ratio = run.stats[path], added[path][0] / max(1e-9, peer)
        target = {"atende plain": PLAIN_TARGET, "atende bot": BOT_TARGET}.get(path)
        lines.append(
            f"| {path} | {' / '.join(_ms(x) for x in percentiles(record.seconds))} | "
            f"{' / '.join(_ms(x) for x in added[path])} | {_ms(record.per_turn(record.server_cpu))} | "
            f"{_ms(record.per_turn(record.worker_cpu)) if path != 'litellm' else ''} | "
            f"{'' if target is None else f'{ratio:.2f}'} | {'' if target is None else _verdict(ratio, target)} |"
        )
    lines += [
        "",
        "AWS work per turn, counted by the benchmark (the stack's invocation log: botocore `after-call` hooks in "
        "each function worker; DynamoDB request units from the strict layer's meter, on-demand rules):",
        "",
        "| path | Lambda invocations (function × n) | DynamoDB round trips | Secrets Manager calls | DynamoDB "
        "read units | DynamoDB write units | DynamoDB operations |",
        "|---|---|---|---|---|---|---|",
    ]
    for path in PATHS[2:]:
        record = run.stats[path]
        invocations = ", ".join(f"{f} × {record.per_turn(n):g}" for f, n in sorted(record.invocations.items()))
        operations = ", ".join(
            f"`{name.split('.', 1)[1]}` × {record.per_turn(n):g}"
            for name, n in sorted(record.calls.items())
            if name.startswith("dynamodb.")
        )
        lines.append(
            f"| {path} | {invocations} | {record.round_trips('dynamodb'):g} | {record.round_trips('secretsmanager'):g} "
            f"| {record.per_turn(record.read_units):g} | {record.per_turn(record.write_units):g} | {operations} |"
        )
    return lines
