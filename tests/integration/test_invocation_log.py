"""The local stack's invocation log: each invocation's AWS calls, counted by botocore hooks in the workers."""

from __future__ import annotations

import dataclasses
import json
import os
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import BotoCoreError
from werkzeug.test import Client

from devtools import invocation_log
from devtools.apigw import ApiGatewayEmulator
from devtools.aws_local import EmbeddedAWS
from devtools.containers import Containers
from tests.integration.conftest import ROOT_KEY
from tests.support import ApiClient, ChatSetup, chat_setup, create_tenant


@pytest.fixture
def logged(containers: Containers) -> Iterator[tuple[ApiGatewayEmulator, invocation_log.InvocationLog]]:
    """The test account's functions in their own workers, with the log on (as ATENDE_LOCAL_INVOCATION_LOG=1 does)."""
    runtime = dataclasses.replace(
        containers.runtime, overrides={**containers.runtime.overrides, invocation_log.ENV: "1"}
    )
    log = invocation_log.InvocationLog()
    own = Containers(runtime, log)
    yield ApiGatewayEmulator(own, stage="test"), log
    own.close()


def test_a_chat_turn_logs_its_one_chat_invocation_with_its_aws_calls(
    logged: tuple[ApiGatewayEmulator, invocation_log.InvocationLog], upstream: object
) -> None:
    emulator, log = logged
    api = ApiClient(emulator)
    setup: ChatSetup = chat_setup(create_tenant(api, ROOT_KEY), upstream)
    start, _ = log.since(0)

    answer = setup.chat({"message": "¿Tienen talla M?", "conversation_id": "log-1"})

    assert answer.status == 200, answer.text
    following, entries = log.since(start)
    assert following == start + len(entries)
    # The chat function checks the key itself: one invocation a turn, no authorizer call.
    assert Counter(e["function"] for e in entries) == Counter({"chat": 1})
    chat = next(e for e in entries if e["function"] == "chat")
    dynamodb = {name: n for name, n in chat["calls"].items() if name.startswith("dynamodb.")}
    assert dynamodb, chat  # the turn reads and stores through DynamoDB: each call counted by operation
    assert chat["seconds"] >= chat["aws_seconds"] > 0


def test_the_stack_serves_the_log_on_its_local_path_and_passes_everything_else_on() -> None:
    log = invocation_log.InvocationLog()
    log.record("chat", {"calls": {"dynamodb.Query": 1}, "aws_seconds": 0.01, "seconds": 0.02})
    log.record("authorizer", None)  # a worker without the log reports nothing: nothing is kept
    passed: list[str] = []

    def app(environ: dict[str, object], start_response: object) -> list[bytes]:
        passed.append(str(environ["PATH_INFO"]))
        start_response("404 Not Found", [])  # type: ignore[operator]
        return [b""]

    client = Client(invocation_log.serving(app, log))
    answer = client.get("/_local/invocations?since=0")
    assert json.loads(answer.get_data()) == {
        "next": 1,
        "invocations": [{"function": "chat", "calls": {"dynamodb.Query": 1}, "aws_seconds": 0.01, "seconds": 0.02}],
    }
    assert json.loads(client.get("/_local/invocations?since=1").get_data()) == {"next": 1, "invocations": []}
    client.get("/v1/models")
    assert passed == ["/v1/models"]


def test_calls_in_flight_together_count_their_wall_time_once_and_one_round_trip(aws: EmbeddedAWS) -> None:
    """A turn's parallel reads take the time of the slowest, not the sum: the cost model bills the rest as the
    function's own code, so summing them left a chat turn no time of its own."""
    control = aws.strict
    assert control is not None
    key = {"PK": f"probe#{uuid.uuid4().hex}", "SK": "probe"}
    control.fault("GetItem", "latency", latency_ms=1000, key=key["PK"])
    meter = invocation_log.AwsCallMeter()
    client = boto3.client("dynamodb")
    meter.attach(client)
    table = os.environ["TABLE_NAME"]
    together, own = threading.Barrier(2), list[float]()

    def read() -> None:
        together.wait()
        started = time.perf_counter()
        client.get_item(TableName=table, Key={k: {"S": v} for k, v in key.items()})
        own.append(time.perf_counter() - started)

    try:
        meter.start()
        first = time.perf_counter()
        threads = [threading.Thread(target=read) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        window = time.perf_counter() - first
    finally:
        control.reset()
    assert meter.calls == Counter({"dynamodb.GetItem": 2}) and meter.rounds == 1
    assert min(own) >= 1.0 and meter.aws_seconds <= window < sum(own)


def test_a_call_that_gets_no_answer_ends_its_time_in_flight(aws: EmbeddedAWS) -> None:
    """A connection closed without an answer fires botocore's `after-call-error`, not `after-call`: the meter
    must end that call too, or every later call of the worker is counted as inside it (no time, no round)."""
    control = aws.strict
    assert control is not None
    key = {"PK": f"probe#{uuid.uuid4().hex}", "SK": "probe"}
    control.fault("GetItem", "reset", key=key["PK"])
    meter = invocation_log.AwsCallMeter()
    client = boto3.client("dynamodb", config=Config(retries={"total_max_attempts": 1}))
    meter.attach(client)
    table = os.environ["TABLE_NAME"]
    try:
        meter.start()
        with pytest.raises(BotoCoreError):
            client.get_item(TableName=table, Key={k: {"S": v} for k, v in key.items()})
    finally:
        control.reset()

    meter.start()
    client.get_item(TableName=table, Key={k: {"S": v} for k, v in key.items()})
    assert meter.calls == Counter({"dynamodb.GetItem": 1}) and meter.rounds == 1 and meter.aws_seconds > 0
