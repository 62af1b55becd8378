"""Idempotency records: one partition per tenant, and the same key from two tenants never meets."""

from __future__ import annotations

import os
from typing import Any

import boto3
from boto3.dynamodb.conditions import Attr

from devtools.aws_local import EmbeddedAWS
from devtools.fake_openai import FakeOpenAI
from tests.support import TenantHandle, chat_setup


def _records(tenant_id: str) -> list[dict[str, Any]]:
    """The tenant's records wherever they are: a scan of every page (a query would assume the partition)."""
    table, found, kwargs = boto3.resource("dynamodb").Table(_table_name()), [], {}
    while True:
        page = table.scan(FilterExpression=Attr("SK").begins_with(f"{tenant_id}|"), **kwargs)
        found += page["Items"]
        if "LastEvaluatedKey" not in page:
            break
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    return [{"PK": item["PK"], "SK": item["SK"], "status": item.get("status")} for item in found]


def _table_name() -> str:
    return os.environ["TABLE_NAME"]


def test_each_tenants_idempotency_records_have_their_own_partition(
    aws: EmbeddedAWS, tenant: TenantHandle, other_tenant: TenantHandle, upstream: FakeOpenAI
) -> None:
    first, second = chat_setup(tenant, upstream), chat_setup(other_tenant, upstream)
    body = {"message": "¿envíos?"}
    headers = {"Idempotency-Key": "same-key"}

    answers = [first.chat(body, headers=headers), second.chat(body, headers=headers)]
    assert [a.status for a in answers] == [200, 200], [a.text for a in answers]
    assert len(first.chat_requests()) == 2, "the second tenant got the first tenant's stored answer"

    ours, theirs = _records(tenant.id), _records(other_tenant.id)
    assert [r["PK"] for r in ours] == [f"IDEMPOTENCY#{tenant.id}"]
    assert [r["PK"] for r in theirs] == [f"IDEMPOTENCY#{other_tenant.id}"]
    assert ours[0]["status"] == theirs[0]["status"] == "COMPLETED"

    replay = first.chat(body, headers=headers)  # a replay is still answered from the tenant's own record
    assert replay.json == answers[0].json
    assert len(first.chat_requests()) == 2
    for usage in (tenant.call("GET", "/v1/usage").json, other_tenant.call("GET", "/v1/usage").json):
        assert usage["requests"] == 1, "each tenant billed once"
