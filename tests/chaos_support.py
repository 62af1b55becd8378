"""Helpers of the chaos suite (tests/integration/test_chaos.py): turns, fault plans, timings and the read-back."""

from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from devtools.containers import Container
from tests.support import Answer, ApiClient

# The operations a turn uses; faults are scoped to the app's table.
READS = ("Query", "GetItem", "BatchGetItem")
WRITES = ("TransactWriteItems", "UpdateItem", "PutItem")
OPENAI_ERRORS = {429, 502, 503, 504}


@dataclass
class Turn:
    """One request of the run and what it got back."""

    index: int
    tenant: str
    route: str  # webhook | bot | plain (the last two on /v1/chat/completions)
    text: str
    conversation: str | None = None
    stream: bool = False
    idempotency_key: str | None = None  # sent once: its record's writes meet the faults too
    status: int = 0
    body: Any = None
    request_id: str = ""
    seconds: float = 0.0  # as the client saw it (includes waiting for a free container)
    cost_micros: int | None = None  # what the answer says it cost (None: not an answer that was billed)
    handoff: bool = False
    unresolved: bool = False  # the answer said it cannot tell whether it was billed

    @property
    def label(self) -> str:
        keyed = "+key" if self.idempotency_key else ""
        return f"{self.route}{'+conv' if self.conversation else ''}{'+stream' if self.stream else ''}{keyed}"


@dataclass
class Timings:
    """How long each chat invocation took, by API Gateway request id: from the emulator's call into its container
    to the result (`seconds`), and the handler's own time in the worker (`handler`, Lambda's Duration)."""

    seconds: dict[str, float] = field(default_factory=dict)
    handler: dict[str, float] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def install(self, monkeypatch: Any) -> None:
        original = Container.invoke
        timings = self

        def timed(container: Container, event: Any, timeout: float, levels: dict[str, int]) -> Any:
            started = time.monotonic()
            try:
                return original(container, event, timeout, levels)
            finally:
                request_id = (event.get("requestContext") or {}).get("requestId") if isinstance(event, dict) else None
                if container.name == "chat" and request_id:
                    with timings.lock:
                        timings.seconds[request_id] = time.monotonic() - started
                        if container.last_duration is not None:
                            timings.handler[request_id] = container.last_duration

        monkeypatch.setattr(Container, "invoke", timed)


FAULT_LATENCY_MS = 300  # a slowed DynamoDB call; queued behind others, a request may be applied later still


def dynamodb_faults(seed: int, table: str) -> list[dict[str, Any]]:
    """Seeded random faults of every kind on the operations a turn uses (each rule has its own seed)."""
    rules: list[dict[str, Any]] = []
    for op in READS + WRITES:
        rules += [
            {"operation": op, "kind": "latency", "latency_ms": FAULT_LATENCY_MS, "probability": 0.02},
            {"operation": op, "kind": "error", "code": "InternalServerError", "status": 500, "probability": 0.01},
            {
                "operation": op,
                "kind": "error",
                "code": "ProvisionedThroughputExceededException",
                "status": 400,
                "message": "The level of configured provisioned throughput for the table was exceeded.",
                "probability": 0.01,
            },
            {"operation": op, "kind": "reset", "probability": 0.01},
        ]
    rules += [{"operation": op, "kind": "lost", "latency_ms": 50, "probability": 0.015} for op in WRITES]
    return [{**rule, "table": table, "seed": seed + n} for n, rule in enumerate(rules)]


def fired(stats: dict[str, Any]) -> dict[str, int]:
    """What the strict layer did, by fault kind."""
    counts, rules = stats["counts"], stats["faults"]

    def rule_fired(code: str) -> int:
        return sum(r["fired"] for r in rules if r["kind"] == "error" and r["code"] == code)

    return {
        "transaction_conflicts": int(counts.get("transaction_conflicts", 0)),
        "throttled_by_capacity": int(counts.get("throttled", 0)),
        "throttled_by_plan": rule_fired("ProvisionedThroughputExceededException"),
        "internal_server_errors": rule_fired("InternalServerError"),
        "lost": int(counts.get("faults.lost", 0)),
        "latency": int(counts.get("faults.latency", 0)),
        "reset": int(counts.get("faults.reset", 0)),
    }


def upstream_fault(rng: random.Random, upstream: Any, hang_share: float) -> str | None:
    """Maybe script the upstream's next chat answer with a failure (FIFO: whichever call comes next gets it)."""
    roll = rng.random()
    if roll < 0.04:
        upstream.enqueue(status=429, headers={"retry-after": "0.2"})
        return "429"
    if roll < 0.07:
        upstream.enqueue(status=500)
        return "500"
    if roll < 0.10:
        upstream.enqueue(status=503)
        return "503"
    if roll < 0.14:
        upstream.enqueue(delay=0.8)
        return "latency"
    if roll < 0.14 + hang_share:
        upstream.enqueue(hang=True)
        return "hang"
    return None


def micros(usd: str) -> int:
    return int(Decimal(usd) * 1_000_000)


def sse_events(text: str) -> list[dict[str, Any]]:
    lines = [line.removeprefix("data: ") for line in text.splitlines() if line.startswith("data: ")]
    assert lines and lines[-1] == "[DONE]", text[-300:]
    return [json.loads(line) for line in lines[:-1]]


def completion_of(turn: Turn, answer: Answer) -> dict[str, Any]:
    """The completion an OpenAI-route 200 carries, rebuilt from the stream's chunks when it streamed."""
    if not turn.stream:
        return dict(answer.json)
    events = sse_events(answer.text)
    content = "".join(
        (c.get("delta") or {}).get("content") or "" for event in events for c in event.get("choices") or []
    )
    usage = next((e["usage"] for e in events if e.get("usage")), None)
    last = events[-1]
    return {"model": last["model"], "content": content, "usage": usage, "conversation_id": last.get("conversation_id")}


def read_conversation(api: ApiClient, key: str, bot: str, conversation: str, page: int = 25) -> list[dict[str, Any]]:
    """Every stored message of a conversation, following the cursor page by page."""
    messages: list[dict[str, Any]] = []
    cursor: str | None = None
    for _ in range(1000):
        query = {"limit": str(page), **({"cursor": cursor} if cursor else {})}
        answer = api.call("GET", f"/v1/bots/{bot}/conversations/{conversation}", key=key, query=query)
        if answer.status == 404 and not messages:
            return []
        assert answer.status == 200, answer.text
        messages += answer.json["messages"]
        cursor = answer.json["next_cursor"]
        if not answer.json["has_more"]:
            return messages
        assert cursor, answer.json
    raise AssertionError(f"conversation {conversation} never ended")


def summary(turns: list[Turn]) -> dict[str, Any]:
    by_status = Counter(f"{t.label} {t.status}" for t in turns)
    return {
        "answers": dict(sorted(by_status.items())),
        "billed": sum(1 for t in turns if t.cost_micros),
        "refused": sum(1 for t in turns if _refused(t)),
        "handed_off": sum(1 for t in turns if t.handoff),
        "billing_unresolved": sum(1 for t in turns if t.unresolved),
    }


def _refused(turn: Turn) -> bool:
    """Refused by the budget: a 429 on the OpenAI route, a handoff on the webhook (the bots' default)."""
    body = turn.body if isinstance(turn.body, dict) else {}
    if turn.status == 200:
        return (
            body.get("handoff_reason") == "budget_exhausted" and body.get("handoff_detail") == "monthly_budget_exceeded"
        )
    return turn.status == 429 and _code(turn) == "monthly_budget_exceeded"


def _code(turn: Turn) -> str | None:
    body = turn.body if isinstance(turn.body, dict) else {}
    error = body.get("error") if isinstance(body.get("error"), dict) else {}
    return error.get("code")
