"""The chaos suite: money and messages hold while DynamoDB and the upstream fail at random.

A few hundred turns from many threads, over the webhook and the OpenAI route, for a tenant whose monthly budget
runs out part-way and one without a budget, while the strict local DynamoDB injects seeded faults of every kind
(conflicts, throttles, lost answers, latency, 5xx, resets) and the fake upstream answers 429/500/503, slowly, or
hangs past the bot's deadline. Afterwards:

1. spend (GET /v1/usage and the month counters) is the sum of the cost of every billed 200 answer. A webhook
   answer carries `cost_usd`. An OpenAI-route answer carries the provider's `usage` only: it is priced here at
   the tenant's price of the model it asked for (the price table billing uses, `policy.turn_cost`); where the turn
   was stored with a conversation, the turn record stored with its reply holds the cost billing computed, and the
   two must agree, which shows the pricing here is billing's own;
2. every 200 answer with a conversation id is stored exactly once (its user message once, the reply right after
   it, with the turn record), and no message of any request is stored twice; a third of the turns carry an
   `Idempotency-Key` (sent once), so its record's writes meet the faults too;
3. before the sweep, `committed - spent` is what the reservations still held add up to; after it nothing is held
   and `committed == spent`;
4. no webhook answer is a 5xx (a failing turn answers a handoff); OpenAI-route errors are only 429/502/503/504 in
   OpenAI's envelope;
5. every chat invocation ends within its deadline + 1 s (the bot's; a plain model call has the function's),
   timed inside its container: waiting for one of the local stack's few containers does not count (Lambda would
   start another).

Size and seed: CHAOS_TURNS (240), CHAOS_THREADS (16), CHAOS_SEED (random; printed, so a failing run can be
replayed with it: the faults are seeded, the interleaving of threads is not).
"""

from __future__ import annotations

import os
import random
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from atende.billing import periods, sweep
from atende.billing.policy import price_for, turn_cost
from atende.billing.values import Usage
from atende.platform.settings import get_settings
from atende.store import stores
from atende.store.counters import parts_of
from devtools.aws_local import EmbeddedAWS
from devtools.fake_openai import FakeOpenAI
from tests.chaos_support import (
    FAULT_LATENCY_MS,
    OPENAI_ERRORS,
    Timings,
    Turn,
    completion_of,
    dynamodb_faults,
    fired,
    micros,
    read_conversation,
    summary,
    upstream_fault,
)
from tests.support import ApiClient, ChatSetup, chat_setup, create_tenant, listen_overflows

TURNS = int(os.environ.get("CHAOS_TURNS", "240"))
THREADS = int(os.environ.get("CHAOS_THREADS", "16"))
SEED = int(os.environ.get("CHAOS_SEED") or random.randrange(1, 10**6))
DEADLINE_SECONDS = 3
SHARED_CONVERSATIONS = 3  # per tenant: turns on them collide
BUDGETED_SHARE = 0.6  # of the turns, for the tenant with a budget
KEYED_SHARE = 0.3  # of the turns, sent with an Idempotency-Key
BUDGET_TURNS = 1.0  # the budget covers about this share of its turns
MODEL = "gpt-4o-mini"
SETTINGS = {"transaction_window_ms": 15, "item_wcu_per_second": 20}


def _make_turn(rng: random.Random, index: int, tenants: list[str]) -> Turn:
    tenant = tenants[0] if rng.random() < BUDGETED_SHARE else tenants[1]
    text = f"¿Cuánto tarda el envío? (pregunta {index}-{uuid.uuid4().hex[:8]})"
    roll = rng.random()
    route = "webhook" if roll < 0.55 else "bot" if roll < 0.8 else "plain"
    turn = Turn(index, tenant, route, text)
    if route != "plain":
        shape = rng.random()
        if shape < 0.5:
            turn.conversation = f"shared-{rng.randrange(SHARED_CONVERSATIONS)}"
        elif shape < 0.75:
            turn.conversation = f"own-{index}"
    if route != "webhook":
        turn.stream = rng.random() < 0.4
    if rng.random() < KEYED_SHARE:
        turn.idempotency_key = f"chaos-{index}-{uuid.uuid4().hex[:8]}"
    return turn


def _send(api: ApiClient, setup: ChatSetup, turn: Turn) -> None:
    started = time.monotonic()
    headers = {"Idempotency-Key": turn.idempotency_key} if turn.idempotency_key else None
    if turn.route == "webhook":
        body: dict[str, Any] = {"message": turn.text}
        if turn.conversation:
            body["conversation_id"] = turn.conversation
        answer = api.call("POST", "/v1/bots/shop/chat", key=setup.key, json_body=body, headers=headers)
    else:
        model = "bot:shop" if turn.route == "bot" else MODEL
        body = {"model": model, "messages": [{"role": "user", "content": turn.text}]}
        if turn.conversation:
            body["conversation_id"] = turn.conversation
        if turn.stream:
            body |= {"stream": True, "stream_options": {"include_usage": True}}
        answer = api.call("POST", "/v1/chat/completions", key=setup.key, json_body=body, headers=headers)
    turn.seconds = time.monotonic() - started
    turn.status, turn.request_id = answer.status, answer.headers.get("x-amzn-RequestId", "")
    if answer.status != 200:
        turn.body = answer.json if answer.text.startswith("{") else answer.text
        # A call the provider answered but storage then failed is billed: the error says what it cost.
        turn.cost_micros = int(answer.headers.get("x-atende-cost-micros", 0)) or None
        turn.unresolved = answer.headers.get("x-atende-billing") == "unresolved"
        return
    if turn.route == "webhook":
        turn.body = answer.json
        turn.handoff = bool(turn.body["handoff"])
        turn.cost_micros = micros(turn.body["cost_usd"])
        turn.unresolved = bool(turn.body.get("billing_unresolved"))
        return
    turn.body = completion_of(turn, answer)
    tenant = stores().tenants.require(turn.tenant)
    turn.cost_micros = turn_cost(price_for(tenant, MODEL, strict=False), Usage.from_openai(turn.body["usage"]))


# The handoff reasons of turns that are not stored: storage failed the turn, or a limit refused it.
UNSTORED = {"store_unavailable", "budget_exhausted"}


def _month_totals(tenant_id: str) -> dict[str, Any]:
    month, _ = periods.periods(periods.utc())
    return stores().counters.month_totals(tenant_id, get_settings().budget_counter_shards, month)


def _still_held(tenant_id: str, held: list[str]) -> int:
    total = 0
    for request_id in held:
        record = stores().counters.reservation(tenant_id, request_id)
        assert record is not None and record["status"] == "held", record
        total += sum(part.amount for part in parts_of(record))
    return total


def _settled_cost(tenant_id: str, request_id: str) -> int:
    """What the settlement of a request's reservation billed (settlements record it); 0 if it was not settled."""
    record = stores().counters.reservation(tenant_id, request_id) if request_id else None
    return int(record.get("cost_micros", 0)) if record and record["status"] == "settled" else 0


def _misreported(tenant_id: str, turns: list[Turn]) -> list[str]:
    """The answers whose cost differs from what their reservation's settlement billed (it records it)."""
    found = []
    for turn in turns:
        if turn.unresolved:
            continue  # said it could not tell: its record decides
        settled = _settled_cost(tenant_id, turn.request_id)
        if settled != (turn.cost_micros or 0):
            body = str(turn.body)[:300]
            found.append(
                f"{turn.label} {turn.status} {turn.request_id}: answered {turn.cost_micros}, billed {settled}: {body}"
            )
    return found


@pytest.mark.chaos
@pytest.mark.serial
@pytest.mark.timeout(300)
def test_money_and_messages_hold_under_chaos(
    api: ApiClient, aws: EmbeddedAWS, upstream: FakeOpenAI, root_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    print(f"\nchaos seed {SEED} (replay: CHAOS_SEED={SEED}), {TURNS} turns from {THREADS} threads")
    control = aws.strict
    assert control is not None, "the chaos suite needs the strict local DynamoDB"
    rng = random.Random(SEED)
    bot = {"deadline_seconds": DEADLINE_SECONDS, "model": MODEL}
    setups = {}
    for _ in range(2):
        handle = create_tenant(api, root_key)
        setups[handle.id] = chat_setup(handle, upstream, **bot)
    budgeted, free = list(setups)

    # What one turn costs, fault-free, sets a budget that runs out part-way through the run.
    probe = Turn(-1, free, "webhook", "¿Cuánto tarda el envío?")
    _send(api, setups[free], probe)
    assert probe.status == 200 and probe.cost_micros, probe.body
    budget_usd = probe.cost_micros * TURNS * BUDGETED_SHARE * BUDGET_TURNS / 1_000_000
    limits = setups[budgeted].tenant.call("PUT", "/v1/limits", json_body={"monthly_budget_usd": round(budget_usd, 6)})
    assert limits.status == 200, limits.text

    turns = [_make_turn(rng, i, [budgeted, free]) for i in range(TURNS)]
    upstream_faults = Counter(upstream_fault(rng, upstream, 0.02) for _ in range(TURNS))
    timings = Timings()
    timings.install(monkeypatch)
    table = get_settings().table_name
    control.reset()
    control.settings(**SETTINGS)
    control.faults(*dynamodb_faults(SEED, table))
    clients = threading.local()

    def run(turn: Turn) -> None:
        if not hasattr(clients, "api"):
            clients.api = ApiClient(api.client.application)
        _send(clients.api, setups[turn.tenant], turn)

    overflows = listen_overflows()
    started = time.monotonic()
    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(run, turns))
    elapsed = time.monotonic() - started
    stats = control.stats()
    control.reset()  # read back without faults
    upstream.reset()
    time.sleep(FAULT_LATENCY_MS / 1000 + 2)  # requests the layer still holds (slowed, or queued) land before reading

    kinds = fired(stats)
    print(f"{TURNS} turns in {elapsed:.1f} s; upstream faults scripted {dict(upstream_faults)}")
    print(f"DynamoDB faults fired {kinds}")
    print(f"counts {summary(turns)}")
    if overflows is not None:
        print(f"connections refused by a full accept queue meanwhile: {(listen_overflows() or 0) - overflows}")
    assert all(kinds[name] for name in ("transaction_conflicts", "internal_server_errors", "lost", "latency", "reset"))
    assert kinds["throttled_by_capacity"] + kinds["throttled_by_plan"], kinds

    # 4. the answers' statuses
    problems = []
    for turn in turns:
        if turn.route == "webhook" and turn.status >= 500:
            problems.append(f"webhook {turn.status}: {turn.body}")
        if turn.route != "webhook" and turn.status != 200:
            error = turn.body.get("error") if isinstance(turn.body, dict) else None
            if turn.status not in OPENAI_ERRORS or not isinstance(error, dict) or "message" not in error:
                problems.append(f"{turn.label} {turn.status}: {turn.body}")
    failures = [f"unclear answer: {problem}" for problem in problems]
    if not summary(turns)["refused"]:
        failures.append("the budget never ran out: no refusal was tested")

    # 5. every answer within the deadline (+1 s)
    slow = {t.request_id: timings.seconds.get(t.request_id) for t in turns if t.request_id}
    assert len(slow) == TURNS and all(s is not None for s in slow.values()), "a chat invocation was not timed"
    by_id = {t.request_id: t for t in turns}
    plain_deadline = get_settings().webhook_deadline_seconds  # a call without a bot has the function's deadline

    def allowed(turn: Turn) -> float:
        return (plain_deadline if turn.route == "plain" else DEADLINE_SECONDS) + 1

    late = sorted((s, rid) for rid, s in slow.items() if s is not None and s > allowed(by_id[rid]))
    print(f"slowest chat invocations {sorted(round(s, 2) for s in slow.values() if s is not None)[-3:]}")
    gaps = sorted(slow[rid] - timings.handler[rid] for rid in slow if rid in timings.handler)
    print(f"slowest handlers {sorted(round(s, 2) for s in timings.handler.values())[-3:]}, largest gaps {gaps[-3:]}")
    failures += [
        f"late: {s:.2f} s (handler {timings.handler.get(rid, -1):.2f} s) {by_id[rid].label} {by_id[rid].status} {rid}"
        for s, rid in late
    ]

    # 2. messages stored exactly once
    stored_costs: dict[str, int] = {}
    for tenant_id, setup in setups.items():
        conversations = {t.conversation for t in turns if t.tenant == tenant_id and t.conversation}
        for conversation in conversations:
            messages = read_conversation(api, setup.key, "shop", conversation)
            texts = [str(m.get("content")) for m in messages if m["role"] == "user"]
            failures += [f"stored twice in {conversation}: {text}" for text, n in Counter(texts).items() if n > 1]
            position = {str(m.get("content")): n for n, m in enumerate(messages) if m["role"] == "user"}
            for turn in (t for t in turns if t.tenant == tenant_id and t.conversation == conversation):
                if turn.status != 200 or (isinstance(turn.body, dict) and turn.body.get("handoff_reason") in UNSTORED):
                    continue  # an error, or a handoff because storage failed or a limit refused: not stored
                if turn.text not in position:
                    failures.append(f"a 200 answer's turn was not stored: {turn.label} {turn.request_id}")
                    continue
                reply = messages[position[turn.text] + 1]
                assert reply["role"] == "assistant" and "turn" in reply, reply
                stored_costs[turn.request_id] = int(reply["turn"]["cost_micros"])
    for turn in turns:
        if turn.request_id in stored_costs and stored_costs[turn.request_id] != turn.cost_micros:
            failures.append(f"stored cost {stored_costs[turn.request_id]} != answered {turn.cost_micros}: {turn.label}")

    # 1 and 3. spend is what the answers billed; held is what committed holds beyond it, then nothing
    for tenant_id in setups:
        # An answer that said it cannot tell whether it was billed counts what its reservation's record says.
        unresolved = [t for t in turns if t.tenant == tenant_id and t.unresolved]
        failures += [f"unresolved but priced: {t.label} {t.request_id}" for t in unresolved if t.cost_micros]
        billed = sum(t.cost_micros or 0 for t in [*turns, probe] if t.tenant == tenant_id and not t.unresolved)
        billed += sum(_settled_cost(tenant_id, t.request_id) for t in unresolved)
        before = _month_totals(tenant_id)
        usage = setups[tenant_id].tenant.call("GET", "/v1/usage").json
        print(f"tenant {tenant_id}: billed {billed}, usage {usage['spend_micros']}, counters {before}")
        held = _still_held(tenant_id, before["held"])
        if int(before["committed"]) - int(before["spent"]) != held:
            failures.append(f"{tenant_id}: committed - spent != {held} held by {len(before['held'])} reservations")
        if usage["spend_micros"] != billed:
            failures.append(
                f"{tenant_id}: usage spend {usage['spend_micros']} != {billed} billed in answers; by bot "
                f"{ {k: v['spend_micros'] for k, v in usage['by_bot'].items()} }"
            )
            failures += _misreported(tenant_id, [t for t in turns if t.tenant == tenant_id])
        if int(before["spent"]) != billed:
            failures.append(f"{tenant_id}: counters spent {before['spent']} != {billed} billed in answers")
    sweep.tick(now=time.time() + 600)
    for tenant_id in setups:
        after = _month_totals(tenant_id)
        if after["held"] or int(after["committed"]) != int(after["spent"]):
            failures.append(f"{tenant_id} after the sweep: {after}")
    assert not failures, f"{len(failures)} failures (seed {SEED}):\n" + "\n".join(failures[:30])
