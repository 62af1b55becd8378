"""Writes that meet other transactions or throttling are tried again with jitter, inside the deadline."""

from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from botocore.exceptions import ClientError

from atende.platform import aws
from atende.platform.deadline import Deadline, bounded
from atende.platform.retry import retry_contended
from atende.platform.settings import get_settings
from atende.store import stores
from atende.store.table import AuditEntry, TableStore
from devtools.aws_local import EmbeddedAWS
from devtools.strict_dynamodb import StrictControl

pytestmark = pytest.mark.serial  # concurrent or timed: run alone (see the Makefile's test target)


@pytest.fixture
def table(strict_aws: EmbeddedAWS) -> Any:
    return aws.table(get_settings().table_name)


def _add_one(table: Any, pk: str) -> dict[str, Any]:
    return {
        "Update": {
            "TableName": table.name,
            "Key": {"PK": pk, "SK": "COUNTER"},
            "UpdateExpression": "ADD n :one",
            "ExpressionAttributeValues": {":one": 1},
        }
    }


def test_overlapping_transactions_all_land(table: Any, control: StrictControl) -> None:
    control.settings(transaction_window_ms=80)  # each transaction holds the item 80 ms: the others conflict
    store, pk, barrier = TableStore(table), f"hot-{uuid.uuid4().hex[:8]}", threading.Barrier(8)

    def write(_: int) -> None:
        barrier.wait()
        store.transact([_add_one(table, pk)], AuditEntry("t", "test", "count", pk))

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(write, range(8)))
    assert table.get_item(Key={"PK": pk, "SK": "COUNTER"}, ConsistentRead=True)["Item"]["n"] == 8
    assert control.counts()["transaction_conflicts"] > 0, "the writers did not overlap"


def test_concurrent_turns_on_one_conversation_all_land(table: Any, control: StrictControl) -> None:
    control.settings(transaction_window_ms=40)
    conversation, barrier = f"busy-{uuid.uuid4().hex[:8]}", threading.Barrier(6)

    def turn(i: int) -> int:
        barrier.wait()
        message = {"role": "user", "content": f"turn {i}"}
        with bounded(Deadline(8)):
            return stores().conversations.append(
                "t", "b", conversation, [message], after_seq=0, retention_days=1, request_id=f"r{i}"
            )

    with ThreadPoolExecutor(6) as pool:
        seqs = sorted(pool.map(turn, range(6)))
    assert seqs == [1, 2, 3, 4, 5, 6]
    stored = list(stores().conversations.messages_after("t", "b", conversation, after_seq=0, page_size=100))
    assert sorted(m["content"] for m in stored) == [f"turn {i}" for i in range(6)]


def test_throttled_transaction_and_plain_write_land_once_capacity_is_back(table: Any, control: StrictControl) -> None:
    pk = f"throttled-{uuid.uuid4().hex[:8]}"
    # four refusals: more than botocore's three attempts
    control.fault("TransactWriteItems", "error", code="ProvisionedThroughputExceededException", status=400, count=4)
    with bounded(Deadline(10)):  # botocore alone may back off up to 3 s per call: room for two calls
        TableStore(table).transact([_add_one(table, pk)])
    assert table.get_item(Key={"PK": pk, "SK": "COUNTER"}, ConsistentRead=True)["Item"]["n"] == 1

    control.fault("UpdateItem", "error", code="ProvisionedThroughputExceededException", status=400, count=4)
    key_pk = f"KEY#{uuid.uuid4().hex}"
    table.put_item(Item={"PK": key_pk, "SK": "KEY", "GSI1PK": "TENANT#tx", "GSI1SK": "KEY#k1", "id": "k1"})
    revoke = {
        "Key": {"PK": key_pk, "SK": "KEY"},
        "UpdateExpression": "SET revoked_at = :now",
        "ExpressionAttributeValues": {":now": "2030-01-01T00:00:00Z"},
    }
    with bounded(Deadline(10)):
        retry_contended(lambda: table.update_item(**revoke))
    assert table.get_item(Key={"PK": key_pk, "SK": "KEY"}, ConsistentRead=True)["Item"]["revoked_at"]


def test_endless_throttling_gives_up_inside_the_deadline(table: Any, control: StrictControl) -> None:
    control.fault("TransactWriteItems", "error", code="ProvisionedThroughputExceededException", status=400)
    started = time.monotonic()
    with bounded(Deadline(1.5)), pytest.raises(ClientError) as caught:
        TableStore(table).transact([_add_one(table, f"never-{uuid.uuid4().hex[:8]}")])
    elapsed = time.monotonic() - started
    assert caught.value.response["Error"]["Code"] == "ProvisionedThroughputExceededException"
    assert elapsed < 1.5 + 0.5, f"gave up after {elapsed:.2f} s"
    assert control.counts()["requests.TransactWriteItems"] > 3, "tried no more than botocore alone"
