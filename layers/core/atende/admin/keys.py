"""API key issuing and revocation for a tenant."""

from __future__ import annotations

import secrets as random

from atende.access.keys import Caller, display_prefix, hash_key, new_key
from atende.models.common import utc_now
from atende.models.keys import KeyCreate, KeyCreated, KeyInfo
from atende.store import stores
from atende.store.table import AuditEntry


def issue_key(caller: Caller, tenant_id: str, body: KeyCreate) -> KeyCreated:
    """Create a key; its clear text exists only in this answer, the table keeps its SHA-256."""
    stores().tenants.require(tenant_id)  # a cached admin key of a deleted tenant must not mint new keys
    key = new_key()
    info = KeyInfo(
        id=f"key_{random.token_hex(6)}",
        tenant_id=tenant_id,
        prefix=display_prefix(key),
        label=body.label,
        scopes=sorted(set(body.scopes)),
        allow_query_param=body.allow_query_param,
        created_at=utc_now(),
    )
    audit = AuditEntry(
        tenant_id,
        caller.key_prefix or "operator",
        "key.create",
        f"key/{info.id}",
        ["label", "scopes", "allow_query_param"],
    )
    stores().keys.put(hash_key(key), info, audit)
    return KeyCreated(**info.model_dump(), key=key)


def revoke_key(caller: Caller, tenant_id: str, key_id: str) -> KeyInfo:
    audit = AuditEntry(tenant_id, caller.key_prefix, "key.revoke", f"key/{key_id}", ["revoked_at"])
    return stores().keys.revoke(tenant_id, key_id, audit)


def list_keys(tenant_id: str) -> list[KeyInfo]:
    """The tenant's keys, prefixes only (the clear text was shown once, at creation)."""
    return stores().keys.list(tenant_id)
