"""Local Lambda isolation: concurrent requests of two tenants never see each other's event, key or body."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import pytest

from devtools.apigw import ApiGatewayEmulator
from devtools.containers import MAX_CONTAINERS, Containers
from devtools.fake_openai import FakeOpenAI
from tests.support import Answer, ApiClient, TenantHandle, make_bot

pytestmark = pytest.mark.serial  # concurrent or timed: run alone (see the Makefile's test target)

ROUNDS = 40  # turns per tenant, all in flight together with the other tenant's


@contextmanager
def preemption() -> Iterator[None]:
    """Threads of this process switch as often as they can, so that shared state shows up as crossed answers."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(interval)


def _tenant_chat(tenant: TenantHandle, upstream: FakeOpenAI, bot: str) -> str:
    credential = {"api_key": "sk-test-primary-0000", "base_url": upstream.base_url}
    assert tenant.call("PUT", "/v1/credentials/openai", json_body=credential).status == 200
    make_bot(tenant, bot, rules=f"You are the {bot} assistant.", knowledge_base=f"Shop: this is the {tenant.id} shop.")
    return tenant.new_key(["chat"])


def _turn(emulator: ApiGatewayEmulator, key: str, bot: str, i: int) -> tuple[Answer, dict[str, Any]]:
    body = {"message": "Which shop is this?", "conversation_id": f"{bot}-{i}"}
    answer = ApiClient(emulator).call("POST", f"/v1/bots/{bot}/chat", key=key, json_body=body)
    return answer, body


def test_concurrent_turns_of_two_tenants_never_cross(
    emulator: ApiGatewayEmulator, tenant: TenantHandle, other_tenant: TenantHandle, upstream: FakeOpenAI
) -> None:
    """Before containers were processes, this failed: with handlers in threads, Powertools' class-level
    current_event let a turn read the other tenant's request id, key and body."""
    # Each tenant has only its own bot: a turn answered from the other request's event is a 404, or names the
    # wrong bot, tenant, conversation or request id.
    mine = {"alpha": (tenant, _tenant_chat(tenant, upstream, "alpha"))}
    mine["beta"] = (other_tenant, _tenant_chat(other_tenant, upstream, "beta"))
    jobs = [(bot, i) for i in range(ROUNDS) for bot in mine]
    with preemption(), ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda job: (job, _turn(emulator, mine[job[0]][1], *job)), jobs))
    crossed = []
    for (bot, _), (answer, body) in results:
        owner = mine[bot][0]
        got = answer.json if answer.status == 200 else {}
        expected = (bot, body["conversation_id"], answer.headers.get("x-amzn-RequestId"))
        # A turn the (slowed) upstream failed is handed off: its identity must still be its own.
        answered_by_model = got.get("source") != "handoff"
        if (
            answer.status != 200
            or (got.get("bot"), got.get("conversation_id"), got.get("request_id")) != expected
            or (answered_by_model and owner.id not in got.get("reply", ""))
        ):
            crossed.append((bot, answer.status, answer.text[:300]))
    assert not crossed, f"{len(crossed)} of {len(results)} turns were answered for another request: {crossed[:3]}"


def test_a_container_serves_one_request_at_a_time_and_stays_warm(containers: Containers) -> None:
    """Concurrent calls get separate containers (up to the cap); sequential calls reuse a warm one."""
    pool = containers.pool("config")
    event = _openapi_event()
    before = pool.size
    assert containers.invoke("config", event)["statusCode"] == 200
    for _ in range(5):
        assert containers.invoke("config", event)["statusCode"] == 200
    assert pool.size == max(before, 1), "sequential calls started new containers instead of reusing a warm one"
    with ThreadPoolExecutor(max_workers=3) as threads:
        answers = list(threads.map(lambda _: containers.invoke("config", event)["statusCode"], range(12)))
    assert answers == [200] * 12
    assert 1 <= pool.size <= MAX_CONTAINERS
    pids = {container.process.pid for container in pool._idle}
    assert len(pids) == len(pool._idle), "two containers share one process"


def _openapi_event() -> dict[str, Any]:
    context = {"requestId": "r-openapi", "stage": "test", "resourcePath": "/openapi.json", "httpMethod": "GET"}
    return {
        "resource": "/openapi.json",
        "path": "/openapi.json",
        "httpMethod": "GET",
        "headers": {},
        "multiValueHeaders": {},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "body": None,
        "isBase64Encoded": False,
        "requestContext": {**context, "identity": {"sourceIp": "127.0.0.1"}},
    }
