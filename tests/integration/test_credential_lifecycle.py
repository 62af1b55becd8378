"""Provider credentials listed from the table (no ListSecrets), and stored again right after a delete."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse

from atende.platform import aws
from atende.providers.credentials import credential_secret_name
from tests.support import ApiClient, ChatSetup, TenantHandle, create_tenant

SCHEDULED_CREATE = "You can't create this secret because a secret with this name is already scheduled for deletion."
SCHEDULED_WRITE = "You can't perform this operation on the secret because it was marked for deletion."
NEW_KEY = "sk-test-after-delete-0000"


@pytest.fixture
def secrets_calls() -> Iterator[list[tuple[str, dict[str, Any]]]]:
    """The Secrets Manager operations the functions call (name and parameters as sent)."""
    calls: list[tuple[str, dict[str, Any]]] = []

    def record(model: Any, params: dict[str, Any], **_: Any) -> None:
        calls.append((model.name, params))

    events = aws.client("secretsmanager").meta.events
    events.register("before-call.secretsmanager.*", record, unique_id="test-secrets-calls")
    yield calls
    events.unregister("before-call.secretsmanager.*", unique_id="test-secrets-calls")


class DeletionRules:
    """Secrets Manager's answers around a deletion, on the functions' client (same codes and messages).

    Secrets Manager deletes asynchronously: for a while after a delete the name is "scheduled for deletion", a new
    value is refused and the name cannot be created again. moto deletes at once and accepts writes to a scheduled
    secret, so these rules answer for it.
    """

    def __init__(self) -> None:
        self.purging: set[str] = set()  # force-deleted, still being purged: the next create is refused once
        self.refused: list[str] = []
        self.direct = boto3.client("secretsmanager")  # reads the state without going through these rules

    def before_call(self, model: Any, params: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict] | None:
        body = _body(params)
        name = str(body.get("SecretId") or body.get("Name") or "")
        if model.name == "DeleteSecret" and body.get("ForceDeleteWithoutRecovery"):
            self.purging.add(name)  # deleted at once by moto; Secrets Manager purges it in the background
            return None
        if model.name == "CreateSecret" and name in self.purging:
            self.purging.discard(name)  # the purge finishes after this answer
            return self._refuse(model.name, SCHEDULED_CREATE)
        if model.name in ("PutSecretValue", "GetSecretValue") and self._scheduled(name):
            return self._refuse(model.name, SCHEDULED_WRITE)
        return None

    def _scheduled(self, name: str) -> bool:
        try:
            return "DeletedDate" in self.direct.describe_secret(SecretId=name)
        except self.direct.exceptions.ResourceNotFoundException:
            return False

    def _refuse(self, operation: str, message: str) -> tuple[AWSResponse, dict]:
        self.refused.append(operation)
        error = {"Error": {"Code": "InvalidRequestException", "Message": message}}
        return AWSResponse("https://secretsmanager.local", 400, {}, None), error


@pytest.fixture
def aws_deletion_rules(functions_in_this_process: None) -> Iterator[DeletionRules]:
    rules, events = DeletionRules(), aws.client("secretsmanager").meta.events
    events.register("before-call.secretsmanager.*", rules.before_call, unique_id="test-deletion-rules")
    yield rules
    events.unregister("before-call.secretsmanager.*", unique_id="test-deletion-rules")


def _body(params: dict[str, Any]) -> dict[str, Any]:
    """The operation's parameters as sent (a JSON body)."""
    body = params.get("body") or b"{}"
    return dict(json.loads(body.decode() if isinstance(body, bytes) else body))


def _params(calls: list[tuple[str, dict[str, Any]]]) -> list[str]:
    return [name for name, _ in calls]


def test_credentials_are_listed_without_list_secrets(
    tenant: TenantHandle, secrets_calls: list[tuple[str, dict[str, Any]]]
) -> None:
    for provider in ("openai", "gemini"):
        assert tenant.call("PUT", f"/v1/credentials/{provider}", json_body={"api_key": "sk-a-0123456789"}).status == 200
    listed = tenant.call("GET", "/v1/credentials")
    assert [c["provider"] for c in listed.json["data"]] == ["gemini", "openai"], listed.text
    assert tenant.call("DELETE", "/v1/credentials/gemini").status == 200
    assert [c["provider"] for c in tenant.call("GET", "/v1/credentials").json["data"]] == ["openai"]
    assert tenant.call("DELETE", "/v1/credentials/gemini").status == 404
    assert "ListSecrets" not in _params(secrets_calls)


def test_deleting_a_tenant_deletes_its_credentials_without_list_secrets(
    api: ApiClient, root_key: str, secrets_calls: list[tuple[str, dict[str, Any]]]
) -> None:
    doomed = create_tenant(api, root_key)
    for provider in ("openai", "azure"):
        assert doomed.call("PUT", f"/v1/credentials/{provider}", json_body={"api_key": "sk-b-0123456789"}).status == 200
    assert api.call("DELETE", f"/v1/admin/tenants/{doomed.id}", key=root_key).status == 200
    client = boto3.client("secretsmanager")
    for provider in ("openai", "azure"):
        with pytest.raises(client.exceptions.ResourceNotFoundException):
            client.describe_secret(SecretId=credential_secret_name(doomed.id, provider))
    assert "ListSecrets" not in _params(secrets_calls)


def _chat_with_the_new_key_only(setup: ChatSetup) -> None:
    setup.upstream.set_api_key(NEW_KEY)  # the old key would be refused upstream
    answer = setup.chat({"message": "¿envíos?"})
    assert answer.status == 200 and answer.json["source"] == "model", answer.text
    assert setup.chat_requests()[-1].headers["authorization"] == f"Bearer {NEW_KEY}"


def test_a_credential_deleted_and_stored_again_at_once_works(
    setup: ChatSetup, aws_deletion_rules: DeletionRules
) -> None:
    assert setup.tenant.call("DELETE", "/v1/credentials/openai").status == 200
    again = {"api_key": NEW_KEY, "base_url": setup.upstream.base_url}
    stored = setup.tenant.call("PUT", "/v1/credentials/openai", json_body=again)
    assert stored.status == 200, stored.text
    assert aws_deletion_rules.refused == ["CreateSecret"], "the name was still being purged once"
    _chat_with_the_new_key_only(setup)
    assert [c["provider"] for c in setup.tenant.call("GET", "/v1/credentials").json["data"]] == ["openai"]


def test_a_credential_scheduled_for_deletion_is_restored_with_the_new_value(
    setup: ChatSetup, aws_deletion_rules: DeletionRules
) -> None:
    # Deleted with a recovery window (the console's default, or an older Atende): scheduled, not gone.
    name = credential_secret_name(setup.tenant.id, "openai")
    boto3.client("secretsmanager").delete_secret(SecretId=name, RecoveryWindowInDays=7)
    again = {"api_key": NEW_KEY, "base_url": setup.upstream.base_url}
    stored = setup.tenant.call("PUT", "/v1/credentials/openai", json_body=again)
    assert stored.status == 200, stored.text
    assert "PutSecretValue" in aws_deletion_rules.refused
    _chat_with_the_new_key_only(setup)
