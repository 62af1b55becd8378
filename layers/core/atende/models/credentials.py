"""Provider credential models: written whole, read back only as a mask."""

from __future__ import annotations

from typing import Annotated

from pydantic import AnyHttpUrl, Field, SecretStr, StringConstraints

from atende.models.common import RequestModel, ResponseModel

ProviderName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,31}$")]


class CredentialPut(RequestModel):
    api_key: SecretStr = Field(min_length=8, max_length=512)
    base_url: AnyHttpUrl | None = Field(
        default=None, description="Any OpenAI-compatible endpoint; OpenAI's if omitted."
    )
    organization: str | None = Field(default=None, max_length=128)


class CredentialInfo(ResponseModel):
    provider: str
    api_key_mask: str
    base_url: str | None = None
    organization: str | None = None
    updated_at: str | None = None


def mask(secret: str) -> str:
    """Enough to tell two keys apart, never enough to use one: the first 3 and last 4 characters."""
    if len(secret) <= 12:
        return "…" + secret[-2:]
    return f"{secret[:3]}…{secret[-4:]}"
