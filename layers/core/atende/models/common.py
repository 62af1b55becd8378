"""Shared model bases and field types (identifiers, strict request bodies)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

# Identifiers that appear in URLs and DynamoDB keys: lower-case slugs, so they never need escaping.
Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
Label = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]


class RequestModel(BaseModel):
    """A request body: unknown fields are an error, so a typo never silently does nothing."""

    model_config = ConfigDict(extra="forbid", str_max_length=200_000)


class ResponseModel(BaseModel):
    model_config = ConfigDict(extra="ignore")


def utc_now() -> str:
    """ISO-8601 UTC timestamp with milliseconds: sortable as a string, as the table's sort keys need."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
