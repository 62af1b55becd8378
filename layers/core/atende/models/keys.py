"""API key models: creation request, the once-shown key, and the listed form (prefix only)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from atende.models.common import ConfigBody, Label, ResponseModel

TenantScope = Literal["chat", "moderate", "admin", "conversations"]


class KeyCreate(ConfigBody):
    label: Label = "unnamed"
    scopes: list[TenantScope] = Field(
        default=["chat", "moderate"],
        min_length=1,
        max_length=4,
        description="chat, moderate, admin (the config API), conversations (read and erase stored conversations "
        "by id; admin keys have it too).",
    )
    allow_query_param: bool = Field(
        default=False,
        description="Accept this key as ?api_key=… (for tools that cannot set headers; the URL ends up in logs).",
    )


class KeyInfo(ResponseModel):
    id: str
    tenant_id: str
    prefix: str
    label: str
    scopes: list[str]
    allow_query_param: bool = False
    created_at: str
    revoked_at: str | None = None


class KeyCreated(KeyInfo):
    key: str = Field(description="The API key. Shown only in this answer: store it now.")
