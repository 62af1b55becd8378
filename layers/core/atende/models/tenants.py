"""Tenant models: profile, status and the operator's view."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic.json_schema import SkipJsonSchema

from atende.models.common import ConfigBody, Label, ResponseModel, Slug

TenantStatus = Literal["active", "suspended"]


class TenantCreate(ConfigBody):
    id: Slug | None = Field(default=None, description="Slug; generated when omitted.")
    name: Label
    knowledge_base_max_chars: int = Field(default=10_000, ge=100, le=200_000)
    retention_days: int = Field(default=30, ge=1, le=3650, description="How long conversations are kept.")


class TenantPatch(ConfigBody):
    name: Label | None = None
    knowledge_base_max_chars: int | None = Field(default=None, ge=100, le=200_000)
    retention_days: int | None = Field(default=None, ge=1, le=3650)


class SuspendRequest(ConfigBody):
    reason: Label = "suspended by the operator"


class Tenant(ResponseModel):
    id: str
    name: str
    status: TenantStatus = "active"
    status_reason: str | None = None
    # Who suspended it: "operator", or the limit whose alarm holds it ("monthly_budget", …). Internal: not answered.
    status_cause: SkipJsonSchema[str | None] = Field(default=None, exclude=True)
    status_since: str | None = None
    knowledge_base_max_chars: int = 10_000
    retention_days: int = 30
    created_at: str
    updated_at: str

    @property
    def active(self) -> bool:
        return self.status == "active"
