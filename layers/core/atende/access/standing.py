"""Re-checking a caller past the auth cache: its key not revoked, its tenant not deleted (one consistent read)."""

from __future__ import annotations

from atende.access.keys import Caller, Scope
from atende.platform.errors import Unauthenticated
from atende.store import stores


def require_standing(caller: Caller) -> None:
    """Refuse (401) a key revoked, or of a tenant deleted, since the authorizer cached its lookup.

    The authorizer caches a key for AUTH_CACHE_TTL_SECONDS, so a revoked admin key could otherwise still mint keys,
    and a deleted tenant's chat key read its conversations, until then. Every admin write and every conversation
    read or erasure calls this: one consistent BatchGetItem of the key's reference and the tenant's profile. A
    suspended tenant passes: its admins must still be able to raise limits, and erasure must keep working.
    """
    if Scope.OPERATOR in caller.scopes:  # the root key lives in Secrets Manager, not the table
        return
    key_live, tenant_status = stores().keys.standing(caller.tenant_id, caller.key_id)
    if tenant_status is None:
        raise Unauthenticated("This API key's tenant no longer exists.", code="tenant_deleted")
    if not key_live:
        raise Unauthenticated("This API key was revoked.", code="key_revoked")
