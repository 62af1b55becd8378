"""Provider credentials: stored write-only in Secrets Manager, listed from the table, each change audited."""

from __future__ import annotations

from atende.access.keys import Caller
from atende.models.credentials import CredentialInfo, CredentialPut
from atende.platform.errors import InvalidRequest, NotFound
from atende.providers import credentials
from atende.providers.endpoints import EndpointRefused, check_base_url
from atende.store import stores
from atende.store.table import AuditEntry


def store_credential(caller: Caller, provider: str, body: CredentialPut) -> CredentialInfo:
    """Write the secret, then record its provider (with the audit entry) so listing needs no ListSecrets."""
    stores().tenants.require(caller.tenant_id)  # never a secret for a deleted tenant (its key may still be cached)
    if body.base_url is not None:
        try:
            check_base_url(str(body.base_url))
        except EndpointRefused as refused:
            raise InvalidRequest(f"base_url: {refused}.", param="base_url", code="base_url_not_allowed") from None
    info, changed = credentials.put_credential(caller.tenant_id, provider, body)
    audit = AuditEntry(caller.tenant_id, caller.key_prefix, "credential.put", f"credential/{provider}", changed)
    stores().credentials.record(caller.tenant_id, provider, info.updated_at or "", audit)
    return info


def remove_credential(caller: Caller, provider: str) -> None:
    """Delete the secret and its record; one stored before records were kept is found by reading it."""
    known = stores().credentials.exists(caller.tenant_id, provider)
    if not known and credentials.describe_credential(caller.tenant_id, provider) is None:
        raise NotFound(f"No credential for provider '{provider}'.", param="provider")
    credentials.delete_credential(caller.tenant_id, provider)
    audit = AuditEntry(caller.tenant_id, caller.key_prefix, "credential.delete", f"credential/{provider}")
    stores().credentials.forget(caller.tenant_id, provider, audit)


def delete_all(tenant_id: str) -> int:
    """Delete every credential of a tenant (tenant deletion); returns how many there were."""
    providers = stores().credentials.providers(tenant_id)
    for provider in providers:
        credentials.delete_credential(tenant_id, provider)
        stores().credentials.forget(tenant_id, provider, None)
    return len(providers)


def list_credentials(tenant_id: str) -> list[CredentialInfo]:
    """Masks and dates only: a stored secret is never read back."""
    infos = (credentials.describe_credential(tenant_id, p) for p in stores().credentials.providers(tenant_id))
    return [info for info in infos if info is not None]


def describe_credential(tenant_id: str, provider: str) -> CredentialInfo:
    info = credentials.describe_credential(tenant_id, provider)
    if info is None:
        raise NotFound(f"No credential for provider '{provider}'.", param="provider")
    return info
