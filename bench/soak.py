"""Soak: the local stack (`python -m devtools.stack`) serving many webhook turns; memory and throughput over time."""

from __future__ import annotations

import http.client
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devtools.aws_local import free_port
from devtools.functions import ROOT
from devtools.processes import stop_gracefully
from devtools.strict_dynamodb import StrictControl

TURNS = int(os.environ.get("BENCH_SOAK_TURNS", "10000"))
CONVERSATIONS = int(os.environ.get("BENCH_SOAK_CONVERSATIONS", "300"))  # open at any time
# Each conversation ends after this many turns and another takes its place (staggered, so every stretch of the run
# has the same mix of short and longer histories): the work per turn stays the same while the table grows.
CONVERSATION_TURNS = int(os.environ.get("BENCH_SOAK_CONVERSATION_TURNS", "6"))
# An ended conversation is erased (`DELETE /v1/bots/demo/conversations/{id}`, as a tenant erasing conversations
# after they close would), so the table holds a steady amount of data and growth in RSS is the stack's, not the
# data's. BENCH_SOAK_ERASE=0 keeps every conversation (the table grows by a few items a turn).
ERASE = os.environ.get("BENCH_SOAK_ERASE", "1") != "0"
THREADS = int(os.environ.get("BENCH_SOAK_THREADS", "8"))
MAX_SECONDS = float(os.environ.get("BENCH_SOAK_MAX_SECONDS", "1200"))  # the run stops there, whatever is left
START_SECONDS = 180.0
RSS_TARGET = 1.20  # end RSS within 20 % of the RSS after warm-up
RATE_TARGET = 0.90  # the last 10 % of turns at least 90 % as fast as the first 10 %
QUESTIONS = ("¿Cuánto tarda el envío a Lima?", "¿Puedo cambiar una talla?", "¿Qué medios de pago aceptan?")


def rss_kib(pid: int) -> int:
    """VmRSS of one process in KiB (0 once it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def descendants(pid: int) -> list[int]:
    """Every process below `pid` (its function containers), from the parent ids in /proc/<pid>/stat."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


@dataclass
class Memory:
    stack_kib: int
    workers_kib: int
    workers: int

    @classmethod
    def of(cls, pid: int) -> Memory:
        below = descendants(pid)
        return cls(rss_kib(pid), sum(rss_kib(p) for p in below), len(below))


@dataclass
class Run:
    done: list[float] = field(default_factory=list)  # completion times, in order
    failures: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    warm: Memory | None = None
    warm_stats: dict[str, Any] = field(default_factory=dict)


class Stack:
    """`python -m devtools.stack` as its own process, so its RSS is the stack's alone, not this driver's."""

    def __init__(self, environment: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.log = tempfile.NamedTemporaryFile(prefix="atende-soak-", suffix=".log")  # noqa: SIM115
        env = {**os.environ, "PORT": str(self.port), "PYTHONUNBUFFERED": "1"}
        env.pop("OPENAI_API_KEY", None)  # the offline upstream, unless `environment` names one
        env.update(environment or {})
        self.process = subprocess.Popen(
            [sys.executable, "-m", "devtools.stack"], cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT
        )
        deadline, text = time.monotonic() + START_SECONDS, ""
        while "Ctrl-C stops it." not in text:
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the local stack did not start:\n{text[-3000:]}")
            time.sleep(0.2)
            text = Path(self.log.name).read_text(errors="replace")
        self.aws = StrictControl(re.search(r"AWS endpoint:\s+(\S+)", text)[1])  # type: ignore[index]
        self.chat_key = re.search(r"demo chat key:\s+(\S+)", text)[1]  # type: ignore[index]
        self.admin_key = re.search(r"demo admin key:\s+(\S+)", text)[1]  # type: ignore[index]

    def stop(self) -> None:
        stop_gracefully(self.process)
        self.log.close()


def conversation_of(turn: int) -> str:
    """Turn `turn`'s conversation: slot `turn % CONVERSATIONS`, which starts a new conversation every
    CONVERSATION_TURNS of its turns, each slot offset by its number (so they do not all restart at once)."""
    slot, visit = turn % CONVERSATIONS, turn // CONVERSATIONS
    return f"soak-{slot}-{(visit + slot) // CONVERSATION_TURNS}"


def ended_before(turn: int) -> str | None:
    """The conversation that turn `turn` ends by starting its slot's next one (None if it continues one)."""
    previous = turn - CONVERSATIONS
    if previous < 0 or conversation_of(previous) == conversation_of(turn):
        return None
    return conversation_of(previous)


def _drive(stack: Stack, run: Run, turns: range, mark: int | None, until: float = float("inf")) -> None:
    """THREADS clients with keep-alive connections, each taking the next turn number until none are left
    (or `until`, a monotonic time, has passed)."""
    numbers = iter(turns)
    take = threading.Lock()

    def client() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", stack.port, timeout=60)
        headers = {"Authorization": f"Bearer {stack.chat_key}", "Content-Type": "application/json"}
        while True:
            with take:
                i = next(numbers, None) if time.monotonic() < until else None
            if i is None:
                break
            body = {"message": QUESTIONS[i % len(QUESTIONS)], "conversation_id": conversation_of(i)}
            try:
                ended = ended_before(i) if ERASE else None
                if ended is not None:
                    erase = {"Authorization": f"Bearer {stack.admin_key}"}
                    connection.request("DELETE", f"/v1/bots/demo/conversations/{ended}", None, erase)
                    erased = connection.getresponse()
                    erased.read()
                    if erased.status != 200:
                        raise http.client.HTTPException(f"erase answered {erased.status}")
                connection.request("POST", "/v1/bots/demo/chat", json.dumps(body), headers)
                response = connection.getresponse()
                response.read()
                outcome = None if response.status == 200 else f"HTTP {response.status}"
            except (OSError, http.client.HTTPException) as exc:
                outcome = type(exc).__name__
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", stack.port, timeout=60)
            with run.lock:
                run.done.append(time.monotonic())
                if outcome:
                    run.failures[outcome] = run.failures.get(outcome, 0) + 1
                if mark is not None and len(run.done) == mark:
                    run.warm = Memory.of(stack.process.pid)
                    run.warm_stats = stack.aws.stats()
        connection.close()

    threads = [threading.Thread(target=client, name=f"soak-{n}") for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "**FAIL**"


def soak() -> list[str]:
    """Runs TURNS webhook turns against a fresh local stack and reports its memory and turn rate over the run."""
    stack = Stack()
    try:
        tracked_start = stack.aws.stats()["tracked_instances"]
        _drive(stack, Run(), range(-THREADS * 4, 0), None)  # every container started before anything is timed
        run, started = Run(), time.monotonic()
        _drive(stack, run, range(TURNS), max(1, TURNS // 20), started + MAX_SECONDS)
        ended = time.monotonic()
        end = Memory.of(stack.process.pid)
        stats: dict[str, Any] = stack.aws.stats()
    finally:
        stack.stop()
    warm, served = run.warm or end, len(run.done)
    tenth = max(1, served // 10)
    first = tenth / max(1e-9, run.done[tenth - 1] - started)
    last = tenth / max(1e-9, ended - run.done[-tenth - 1]) if tenth < served else first
    cut = "" if served >= TURNS else f" **Stopped at the {MAX_SECONDS:g} s cap after {served:,} turns.**"
    stack_ratio = end.stack_kib / max(1, warm.stack_kib)
    total_ratio = (end.stack_kib + end.workers_kib) / max(1, warm.stack_kib + warm.workers_kib)
    rate_ratio = last / first
    failures = ", ".join(f"{k} × {v}" for k, v in sorted(run.failures.items())) or "none"
    mib = 1024.0
    erasing = (
        "an ended conversation is erased, so the stored conversations stay as many"
        if ERASE
        else "ended conversations are kept, so the table grows"
    )
    return [
        f"{TURNS:,} webhook turns asked (bot `demo`, offline upstream, IAM enforced, strict DynamoDB) in "
        f"{CONVERSATIONS} open conversations of {CONVERSATION_TURNS} turns each (one ends, another starts: the "
        f"work per turn stays the same; {erasing}) from {THREADS} client threads against "
        f"`python -m devtools.stack` in its own process, after {THREADS * 4} untimed turns that start the "
        "containers. RSS is VmRSS from "
        "/proc: the stack process (embedded AWS, strict layer, API emulator, upstream) and the sum over its "
        f"worker processes ({end.workers} at the end). Warm-up: after the first 5 % of turns; "
        f"{served / (ended - started):.1f} turns/s overall over {ended - started:.0f} s, "
        f"{served - sum(run.failures.values()):,} answered 200 (failures: {failures}); first and last 10 % are of "
        f"the turns served.{cut}",
        "",
        "| measure | after warm-up | at the end | ratio | target | verdict |",
        "|---|---|---|---|---|---|",
        f"| stack process RSS (MiB) | {warm.stack_kib / mib:.1f} | {end.stack_kib / mib:.1f} | "
        f"{stack_ratio:.2f} | ≤ {RSS_TARGET:.2f} | {_verdict(stack_ratio <= RSS_TARGET)} |",
        f"| worker processes RSS, sum (MiB) | {warm.workers_kib / mib:.1f} ({warm.workers}) | "
        f"{end.workers_kib / mib:.1f} ({end.workers}) | "
        f"{end.workers_kib / max(1, warm.workers_kib):.2f} | | |",
        f"| stack + workers RSS (MiB) | {(warm.stack_kib + warm.workers_kib) / mib:.1f} | "
        f"{(end.stack_kib + end.workers_kib) / mib:.1f} | {total_ratio:.2f} | ≤ {RSS_TARGET:.2f} | "
        f"{_verdict(total_ratio <= RSS_TARGET)} |",
        f"| turns/s (first 10 % → last 10 %) | {first:.1f} | {last:.1f} | {rate_ratio:.2f} | ≥ {RATE_TARGET:.2f} | "
        f"{_verdict(rate_ratio >= RATE_TARGET)} |",
        f"| strict layer `tracked_instances` (start → end) | {tracked_start:,} | {stats['tracked_instances']:,} | "
        f"| | |",
        *(
            f"| {label} | {run.warm_stats.get(name, 0):,} | {stats.get(name, 0):,} | | | |"
            for label, name in (
                ("items the local AWS holds", "items"),
                ("answered request tokens it remembers (10 min)", "tokens"),
                ("item keys in its write meter", "meter_keys"),
            )
        ),
    ]


if __name__ == "__main__":
    print("\n".join(soak()))
