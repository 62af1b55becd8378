"""Operator actions on tenants: create, update, suspend/resume, delete, and issuing the first admin key."""

from __future__ import annotations

import secrets as random

from atende.access.keys import Caller, Scope
from atende.admin import credentials
from atende.admin.keys import issue_key
from atende.billing import usage_plans
from atende.models.common import utc_now
from atende.models.keys import KeyCreate, KeyCreated
from atende.models.tenants import SuspendRequest, Tenant, TenantCreate, TenantPatch
from atende.store import stores
from atende.store.table import AuditEntry


def _audit(caller: Caller, tenant_id: str, action: str, changed: list[str] | None = None) -> AuditEntry:
    return AuditEntry(
        tenant_id=tenant_id,
        actor=caller.key_prefix or "operator",
        action=action,
        target=f"tenant/{tenant_id}",
        changed=changed or [],
    )


def create_tenant(caller: Caller, body: TenantCreate) -> Tenant:
    now = utc_now()
    tenant_id = body.id or f"t-{random.token_hex(4)}"
    tenant = Tenant(
        id=tenant_id,
        name=body.name,
        knowledge_base_max_chars=body.knowledge_base_max_chars,
        retention_days=body.retention_days,
        created_at=now,
        updated_at=now,
    )
    return stores().tenants.create(tenant, _audit(caller, tenant_id, "tenant.create"))


def update_tenant(caller: Caller, tenant_id: str, body: TenantPatch) -> Tenant:
    changes = body.model_dump(exclude_unset=True, exclude_none=True)
    return stores().tenants.update(tenant_id, changes, _audit(caller, tenant_id, "tenant.update", list(changes)))


def set_status(caller: Caller, tenant_id: str, suspend: SuspendRequest | None) -> Tenant:
    """Suspend (with a reason) or resume (suspend=None) a tenant."""
    changes = (
        {"status": "suspended", "status_reason": suspend.reason, "status_cause": "operator", "status_since": utc_now()}
        if suspend
        else {"status": "active", "status_reason": None, "status_cause": None, "status_since": utc_now()}
    )
    action = "tenant.suspend" if suspend else "tenant.resume"
    return stores().tenants.update(tenant_id, changes, _audit(caller, tenant_id, action, ["status"]))


def delete_tenant(caller: Caller, tenant_id: str) -> dict:
    """Revoke the tenant's keys, delete its credentials and every item in its partition, then leave a tombstone.

    Conversations live in their own partitions and expire through TTL within the tenant's retention, so the id is
    never given out again: the profile becomes a tombstone that refuses a new tenant with this id (409). Each step
    leaves the profile in place, so a delete that failed half way can be sent again.
    """
    store = stores()
    tenant = store.tenants.require(tenant_id)
    revoked = store.keys.revoke_all(tenant_id)
    usage_plans.delete_tenant_resources(tenant_id)  # alarms, plan and API Gateway key, before the LIMITS item goes
    credentials.delete_all(tenant_id)
    removed = store.tenants.delete_items(tenant_id)
    deleted_at = store.tenants.bury(tenant_id, _audit(caller, tenant_id, "tenant.delete"))
    revoked += store.keys.revoke_all(tenant_id)  # a key its admins issued while this ran
    return {
        "id": tenant.id,
        "deleted": True,
        "deleted_at": deleted_at,
        "keys_revoked": revoked,
        "items_removed": removed,
    }


FIRST_KEY_DEFAULTS = {"label": "first admin key", "scopes": ["admin", "chat", "moderate"]}


def issue_admin_key(caller: Caller, tenant_id: str, body: KeyCreate) -> KeyCreated:
    """A key for the tenant; what the operator leaves out is an admin key's (`{}` and no body alike)."""
    stores().tenants.require(tenant_id)
    unset = {name: value for name, value in FIRST_KEY_DEFAULTS.items() if name not in body.model_fields_set}
    return issue_key(caller, tenant_id, body.model_copy(update=unset))


def list_tenants(caller: Caller) -> list[Tenant]:
    caller.require(Scope.OPERATOR)
    return stores().tenants.list()


def get_tenant(caller: Caller, tenant_id: str) -> Tenant:
    caller.require(Scope.OPERATOR)
    return stores().tenants.require(tenant_id)
