"""The audit trail as tenant admins read it: newest first, paged by the timestamp of the last entry seen."""

from __future__ import annotations

from typing import Any

from atende.store import stores


def list_audit(tenant_id: str, *, limit: int, before: str | None) -> list[dict[str, Any]]:
    return stores().audit.list(tenant_id, limit=limit, before=before)
