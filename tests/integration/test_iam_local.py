"""Local IAM: each function's keys allow exactly what its role in the SAM-transformed template allows."""

from __future__ import annotations

import os
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from devtools.containers import Containers
from devtools.local_env import LocalAccount
from devtools.moto_iam import ACCESS_LOG

pytestmark = pytest.mark.denials_expected


@pytest.fixture(scope="module", autouse=True)
def _iam_on(account: LocalAccount) -> None:
    if not account.iam:
        pytest.skip("ATENDE_LOCAL_IAM=0: functions run with administrator keys")


def as_function(containers: Containers, name: str, service: str) -> Any:
    """A client with the keys `name`'s containers get, against the embedded moto."""
    keys = containers.runtime.credentials[name]
    return boto3.session.Session(
        aws_access_key_id=keys["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=keys["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=keys.get("AWS_SESSION_TOKEN"),
        region_name="us-east-1",
    ).client(service, endpoint_url=containers.runtime.aws_env["AWS_ENDPOINT_URL"])


def denied(call: Any, **kwargs: Any) -> str:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    error = caught.value.response["Error"]
    # CloudWatch's CBOR clients cannot parse moto's XML error: a bare 403 whose message holds it.
    assert error["Code"] in ("AccessDenied", "AccessDeniedException") or (
        error["Code"] == "403" and "<Code>AccessDenied</Code>" in error["Message"]
    ), caught.value.response
    return str(caught.value)


TABLE_KEY = {"PK": {"S": "TENANT#nobody"}, "SK": {"S": "PROFILE"}}


def test_a_functions_own_grants_work(containers: Containers) -> None:
    table = os.environ["TABLE_NAME"]
    as_function(containers, "authorizer", "dynamodb").get_item(TableName=table, Key=TABLE_KEY)
    root = as_function(containers, "authorizer", "secretsmanager")
    assert root.get_secret_value(SecretId=os.environ["ROOT_KEY_SECRET_ID"])["SecretString"]
    as_function(containers, "chat", "dynamodb").query(
        TableName=table, KeyConditionExpression="PK = :pk", ExpressionAttributeValues={":pk": {"S": "TENANT#x"}}
    )
    assert as_function(containers, "config", "ssm").get_parameter(Name=os.environ["REST_API_ID_PARAMETER"])


def test_actions_outside_a_functions_policy_are_denied(containers: Containers) -> None:
    table = os.environ["TABLE_NAME"]
    before = len(ACCESS_LOG.denied())
    # The authorizer reads the table; it never writes.
    message = denied(as_function(containers, "authorizer", "dynamodb").put_item, TableName=table, Item=TABLE_KEY)
    assert "dynamodb:PutItem" in message and "atende-test-authorizer" in message
    # No function may list every secret of the account; chat never scans.
    denied(as_function(containers, "chat", "secretsmanager").list_secrets)
    denied(as_function(containers, "chat", "dynamodb").scan, TableName=table)
    # Only the limits function publishes to the notifications topic, and config never touches SNS.
    denied(
        as_function(containers, "config", "sns").publish, TopicArn=os.environ["NOTIFICATIONS_TOPIC_ARN"], Message="x"
    )
    # Services a function has no statement for at all.
    denied(as_function(containers, "moderate", "cloudwatch").describe_alarms)
    denied(as_function(containers, "chat", "ssm").get_parameter, Name=os.environ["REST_API_ID_PARAMETER"])
    denied(as_function(containers, "authorizer", "apigateway").get_api_keys)
    found = ACCESS_LOG.denied()[before:]
    assert len(found) == 7 and {c.action for c in found} >= {"secretsmanager:ListSecrets", "apigateway:GET"}


def test_resources_outside_a_functions_policy_are_denied(containers: Containers) -> None:
    # The authorizer may read the root key, not a tenant's provider credential.
    reader = as_function(containers, "authorizer", "secretsmanager")
    denied(reader.get_secret_value, SecretId=f"{os.environ['CREDENTIALS_SECRET_PREFIX']}/t-any/openai")
    # Chat reads tenants' credentials, never the root key.
    denied(
        as_function(containers, "chat", "secretsmanager").get_secret_value, SecretId=os.environ["ROOT_KEY_SECRET_ID"]
    )
    # Another table, same actions.
    denied(as_function(containers, "chat", "dynamodb").get_item, TableName="someone-elses-table", Key=TABLE_KEY)


def test_no_function_can_change_the_global_kill_switch_alarm(containers: Containers) -> None:
    stage = os.environ["STAGE"]
    alarms = as_function(containers, "config", "cloudwatch")
    denied(alarms.delete_alarms, AlarmNames=[f"atende-{stage}-global-daily-budget"])
    denied(alarms.describe_alarms, AlarmNames=[f"atende-{stage}-global-daily-budget"])
    alarms.describe_alarms(AlarmNamePrefix=f"atende-{stage}-tenant-t-none-")  # its tenants' alarms: allowed


def test_keys_that_moto_does_not_know_are_refused(containers: Containers) -> None:
    stranger = boto3.session.Session(
        aws_access_key_id="AKIAUNKNOWN000000000", aws_secret_access_key="x", region_name="us-east-1"
    ).client("dynamodb", endpoint_url=containers.runtime.aws_env["AWS_ENDPOINT_URL"])
    with pytest.raises(ClientError) as caught:
        stranger.list_tables()
    assert caught.value.response["Error"]["Code"] in ("UnrecognizedClientException", "InvalidClientTokenId")
