"""Provider credentials and the operator root key in Secrets Manager, read through Powertools' cache."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.parameters import SecretsProvider
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError
from botocore.exceptions import ClientError

from atende.models.common import utc_now
from atende.models.credentials import CredentialInfo, CredentialPut, mask
from atende.platform import aws
from atende.platform.errors import Conflict
from atende.platform.settings import get_settings
from atende.providers.endpoints import masked_url

CREDENTIAL_FIELDS = ("api_key", "base_url", "organization")

WRITE_ATTEMPTS = 6
RESTORE_WAIT_SECONDS = 0.5
CACHE_SECONDS = 300  # a rotated key also takes effect at once: a provider 401 forces one fresh read
OFFLINE_API_KEY = "sk-offline-local-upstream"  # what a tenant without a credential sends the offline upstream


@dataclass(frozen=True)
class ProviderCredential:
    """A credential in memory: never logged, never returned (repr hides the key)."""

    provider: str
    api_key: str
    base_url: str | None = None
    organization: str | None = None

    def __repr__(self) -> str:
        return f"ProviderCredential(provider={self.provider!r}, api_key={mask(self.api_key)!r})"


@cache
def _provider() -> SecretsProvider:
    return SecretsProvider(boto3_client=aws.client("secretsmanager"))


def credential_secret_name(tenant_id: str, provider: str) -> str:
    return f"{get_settings().credentials_secret_prefix}/{tenant_id}/{provider}"


def _read(name: str, *, force: bool) -> dict[str, Any] | None:
    try:
        # VersionStage pinned: after a rotation moves AWSCURRENT, some backends return the old value otherwise.
        value = _provider().get(
            name, transform="json", max_age=CACHE_SECONDS, force_fetch=force, VersionStage="AWSCURRENT"
        )
    except GetParameterError as error:
        # A secret scheduled for deletion refuses reads: it is as good as gone.
        if "ResourceNotFoundException" in str(error) or _scheduled_for_deletion(error):
            return None
        raise
    return value if isinstance(value, dict) else None


def get_credential(tenant_id: str, provider: str, *, force: bool = False) -> ProviderCredential | None:
    """The tenant's credential for `provider`, cached per container; `force` skips the cache.

    On the local stack without OPENAI_API_KEY (OFFLINE_UPSTREAM_URL set), the offline upstream stands in for a
    missing credential and for a missing `base_url`."""
    value = _read(credential_secret_name(tenant_id, provider), force=force)
    offline = get_settings().offline_upstream_url or None
    if not value or not value.get("api_key"):
        return ProviderCredential(provider, OFFLINE_API_KEY, offline) if offline else None
    base_url = value.get("base_url") or offline
    return ProviderCredential(provider, value["api_key"], base_url, value.get("organization"))


def put_credential(tenant_id: str, provider: str, body: CredentialPut) -> tuple[CredentialInfo, list[str]]:
    """Create or replace the secret; the previous value stays as AWSPREVIOUS for rollback.

    Also returns the names of the fields whose value changed (a PUT is whole: a field left out is cleared), so a
    rotated key is audited as `api_key` without its value ever leaving this function.
    """
    document = {
        "api_key": body.api_key.get_secret_value(),
        "base_url": str(body.base_url).rstrip("/") if body.base_url else None,
        "organization": body.organization,
        "updated_at": utc_now(),
    }
    previous = _read(credential_secret_name(tenant_id, provider), force=True) or {}
    changed = [name for name in CREDENTIAL_FIELDS if previous.get(name) != document[name]]
    _write(tenant_id, provider, json.dumps(document))
    _provider().clear_cache()
    return _info(provider, document), changed


def _write(tenant_id: str, provider: str, secret_string: str) -> None:
    """Put a new value, creating the secret when there is none, and reviving one still being deleted.

    Secrets Manager deletes asynchronously: for a while after a delete (even a forced one) the name is "scheduled
    for deletion", a new value is refused and the name cannot be created again. A scheduled secret is restored
    and written; one already being purged is waited for, then created.
    """
    name, client = credential_secret_name(tenant_id, provider), aws.client("secretsmanager")
    for _ in range(WRITE_ATTEMPTS):
        try:
            client.put_secret_value(SecretId=name, SecretString=secret_string)
            return
        except ClientError as error:
            if _scheduled_for_deletion(error):
                _restore(client, name)
                continue
            if _code(error) != "ResourceNotFoundException":
                raise
        try:
            client.create_secret(
                Name=name,
                SecretString=secret_string,
                Description=f"Atende {provider} credential of tenant {tenant_id}",
                Tags=[{"Key": "atende:tenant", "Value": tenant_id}, {"Key": "atende:provider", "Value": provider}],
            )
            return
        except ClientError as error:
            if _scheduled_for_deletion(error):
                _restore(client, name)
            elif _code(error) != "ResourceExistsException":  # created meanwhile by a concurrent PUT: put again
                raise
    raise Conflict(
        f"The previous '{provider}' credential is still being deleted; send the PUT again in a few seconds.",
        param="provider",
        code="credential_being_deleted",
    )


def _restore(client: Any, name: str) -> None:
    """Cancel a scheduled deletion; when the secret is already being purged, give the purge a moment instead."""
    try:
        client.restore_secret(SecretId=name)
    except ClientError as error:
        if _code(error) not in ("ResourceNotFoundException", "InvalidRequestException"):
            raise
        time.sleep(RESTORE_WAIT_SECONDS)


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _scheduled_for_deletion(error: Exception) -> bool:
    return "for deletion" in str(error)  # "already scheduled for deletion", "marked for deletion"


def describe_credential(tenant_id: str, provider: str) -> CredentialInfo | None:
    value = _read(credential_secret_name(tenant_id, provider), force=True)
    return _info(provider, value) if value else None


def delete_credential(tenant_id: str, provider: str) -> bool:
    try:
        aws.client("secretsmanager").delete_secret(
            SecretId=credential_secret_name(tenant_id, provider), ForceDeleteWithoutRecovery=True
        )
    except ClientError as error:
        if error.response["Error"]["Code"] == "ResourceNotFoundException":
            return False
        raise
    _provider().clear_cache()
    return True


def root_key() -> str | None:
    """The operator's root key (JSON secret with a `key` field, generated by the template)."""
    secret_id = get_settings().root_key_secret_id
    if not secret_id:
        return None
    value = _read(secret_id, force=False)
    return str(value["key"]) if value and value.get("key") else None


def _info(provider: str, document: dict[str, Any]) -> CredentialInfo:
    return CredentialInfo(
        provider=provider,
        api_key_mask=mask(str(document.get("api_key", ""))),
        base_url=masked_url(document.get("base_url")),
        organization=document.get("organization"),
        updated_at=document.get("updated_at"),
    )
