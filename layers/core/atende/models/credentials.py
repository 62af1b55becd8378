"""Provider credential models: written whole, read back only as a mask."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AnyHttpUrl, Field, SecretStr, StringConstraints, field_validator

from atende.models.common import ConfigBody, ResponseModel

ProviderName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,31}$")]
# Both travel in HTTP headers (Authorization, OpenAI-Organization): anything else fails at the first chat turn.
_HEADER_TOKEN = re.compile(r"[!-~]+")


class CredentialPut(ConfigBody):
    api_key: SecretStr = Field(min_length=8, max_length=512)
    base_url: AnyHttpUrl | None = Field(
        default=None, description="Any OpenAI-compatible endpoint; OpenAI's if omitted."
    )
    organization: str | None = Field(default=None, max_length=128)

    @field_validator("api_key")
    @classmethod
    def _key_fits_a_header(cls, value: SecretStr) -> SecretStr:
        if not _HEADER_TOKEN.fullmatch(value.get_secret_value()):
            raise ValueError("an API key is printable ASCII without spaces")  # never echo the value
        return value

    @field_validator("organization")
    @classmethod
    def _organization_fits_a_header(cls, value: str | None) -> str | None:
        if value is not None and not _HEADER_TOKEN.fullmatch(value):
            raise ValueError("an organization id is printable ASCII without spaces")
        return value


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
