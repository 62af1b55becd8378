"""boto3 clients built on first use and cached per container (endpoint from AWS_ENDPOINT_URL locally)."""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3
from botocore.config import Config

# Short timeouts and standard retries: a hung AWS call must not eat the caller's webhook deadline.
_CONFIG = Config(connect_timeout=2, read_timeout=5, retries={"mode": "standard", "max_attempts": 3})


@cache
def client(service: str) -> Any:
    """A cached low-level client; boto3 reads AWS_ENDPOINT_URL itself, which points the local stack at moto."""
    return boto3.session.Session().client(service, config=_CONFIG)  # type: ignore[call-overload]


@cache
def table(name: str) -> Any:
    """A cached DynamoDB Table resource for `name`."""
    return boto3.session.Session().resource("dynamodb", config=_CONFIG).Table(name)
