"""Provider credentials: stored write-only in Secrets Manager, each change audited without the secret."""

from __future__ import annotations

from atende.access.keys import Caller
from atende.models.credentials import CredentialInfo, CredentialPut
from atende.platform.errors import NotFound
from atende.providers import credentials
from atende.store import stores
from atende.store.table import AuditEntry


def store_credential(caller: Caller, provider: str, body: CredentialPut) -> CredentialInfo:
    stores().tenants.require(caller.tenant_id)  # never a secret for a deleted tenant (its key may still be cached)
    info = credentials.put_credential(caller.tenant_id, provider, body)
    changed = sorted(body.model_fields_set)
    stores().audit.transact(
        [], AuditEntry(caller.tenant_id, caller.key_prefix, "credential.put", f"credential/{provider}", changed)
    )
    return info


def remove_credential(caller: Caller, provider: str) -> None:
    if not credentials.delete_credential(caller.tenant_id, provider):
        raise NotFound(f"No credential for provider '{provider}'.", param="provider")
    stores().audit.transact(
        [], AuditEntry(caller.tenant_id, caller.key_prefix, "credential.delete", f"credential/{provider}")
    )


def list_credentials(tenant_id: str) -> list[CredentialInfo]:
    """Masks and dates only: a stored secret is never read back."""
    return credentials.list_credentials(tenant_id)


def describe_credential(tenant_id: str, provider: str) -> CredentialInfo:
    info = credentials.describe_credential(tenant_id, provider)
    if info is None:
        raise NotFound(f"No credential for provider '{provider}'.", param="provider")
    return info
