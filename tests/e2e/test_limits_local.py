"""Limits end to end in the running local stack: soft alarm → one notification, hard → suspension, raise → resume."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable
from typing import Any

import boto3
import pytest

from tests.e2e.conftest import LocalStack

WAIT_SECONDS = 20  # alarms are evaluated every second here; the tenant status cache holds 5 s


def _banner_value(stack: LocalStack, pattern: str) -> str:
    found = re.search(pattern, stack.stdout)
    assert found, f"not in the banner: {pattern}\n{stack.output()}"
    return found.group(1)


def _eventually(check: Callable[[], Any], what: str) -> Any:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(0.5)
    pytest.fail(f"not within {WAIT_SECONDS} s: {what}")


def test_soft_alarm_notifies_once_hard_limit_suspends_and_raising_it_resumes(local_stack: LocalStack) -> None:
    upstream = _banner_value(local_stack, r"offline upstream at (\S+)")
    moto = _banner_value(local_stack, r"AWS endpoint:\s+(\S+) \(embedded")
    aws = {
        "endpoint_url": moto,
        "region_name": "us-east-1",
        # IAM is enforced in the local stack: the administrator keys it prints.
        "aws_access_key_id": _banner_value(local_stack, r"AWS admin keys:\s+(\S+) /"),
        "aws_secret_access_key": _banner_value(local_stack, r"AWS admin keys:\s+\S+ / (\S+)"),
    }
    sns, sqs = boto3.client("sns", **aws), boto3.client("sqs", **aws)
    topic = next(t["TopicArn"] for t in sns.list_topics()["Topics"] if t["TopicArn"].endswith("-notifications"))
    queue = sqs.create_queue(QueueName=f"notifications-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)

    tenant = f"e2e{uuid.uuid4().hex[:8]}"
    root = local_stack.root_key
    assert local_stack.request("POST", "/v1/admin/tenants", key=root, json={"id": tenant, "name": "Limits"}).ok
    admin = local_stack.request("POST", f"/v1/admin/tenants/{tenant}/keys", key=root, json={}).json()["key"]
    credential = {"api_key": "sk-offline-e2e-0000", "base_url": upstream}
    assert local_stack.request("PUT", "/v1/credentials/openai", key=admin, json=credential).ok
    bot = {
        "id": "shop",
        "model": "gpt-4o-mini",
        "knowledge_base": "Shipping takes 3 days. Returns within 30 days.",
        "sampling": {"max_tokens": 50},
    }
    assert local_stack.request("POST", "/v1/bots", key=admin, json=bot).status_code == 201

    def chat() -> Any:
        return local_stack.request("POST", "/v1/bots/shop/chat", key=admin, json={"message": "How long is shipping?"})

    def status() -> str:
        return str(local_stack.request("GET", f"/v1/admin/tenants/{tenant}", key=root).json()["status"])

    def soft_notifications() -> list[dict[str, Any]]:
        found = []
        for message in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", []):
            alarm = json.loads(json.loads(message["Body"])["Message"])
            if tenant in alarm["AlarmName"] and alarm["AlarmName"].endswith("-soft"):
                found.append(alarm)
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
        return found

    # A $0.0002 budget with a 5% soft threshold: one turn (~12 µ$ of gpt-4o-mini, worst case ~45 µ$ with
    # max_tokens 50) crosses the soft line, not the hard one.
    limits = {"monthly_budget_usd": "0.0002", "soft_limit_percent": 5}
    assert local_stack.request("PUT", "/v1/limits", key=admin, json=limits).ok
    first = chat()
    assert first.status_code == 200, first.text
    spent = float(first.json()["cost_usd"])
    assert 0.00001 <= spent < 0.0002
    soft = first.json()["soft_limit"]  # the caller sees it too, at once
    assert soft["reached"] is True and soft["spend_usd"] == spent and soft["limit_usd"] == 0.00001

    notified = _eventually(soft_notifications, "the soft alarm's notification")
    assert len(notified) == 1 and notified[0]["NewStateValue"] == "ALARM"
    assert chat().status_code == 200
    time.sleep(3)  # three more evaluations: the alarm stays in ALARM and says nothing more
    assert soft_notifications() == [], "a soft alarm notifies once, when it crosses"

    # The budget lowered below what is already spent: the hard alarm suspends the tenant.
    assert local_stack.request("PUT", "/v1/limits", key=admin, json={"monthly_budget_usd": "0.00001"}).ok
    _eventually(lambda: status() == "suspended", "the tenant suspended by its hard alarm")
    # (a list: a requests.Response is falsy for any 4xx)
    # The webhook answers the bot's handoff (its default); the OpenAI route the 429.
    handed = _eventually(
        lambda: [r for r in [chat()] if r.json().get("handoff_reason") == "budget_exhausted"], "a handoff while held"
    )
    assert handed[0].status_code == 200 and handed[0].json()["handoff_detail"] == "monthly_budget_exceeded"
    completion = {"model": "bot:shop", "messages": [{"role": "user", "content": "How long is shipping?"}]}
    refused = local_stack.request("POST", "/v1/chat/completions", key=admin, json=completion)
    error = refused.json()["error"]
    assert refused.status_code == 429 and error["code"] == "monthly_budget_exceeded" and "budget" in error["message"]

    # Raising the limit returns the alarm to OK, which resumes the tenant.
    assert local_stack.request("PUT", "/v1/limits", key=admin, json={"monthly_budget_usd": "1"}).ok
    _eventually(lambda: status() == "active", "the tenant resumed when its alarm returned to OK")
    assert _eventually(lambda: chat().status_code == 200, "chat works again")
