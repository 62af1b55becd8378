"""This folder's tests reach the session's AWS through the strict DynamoDB layer (devtools.strict_dynamodb)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator

import pytest

from devtools.apigw import ApiGatewayEmulator
from devtools.aws_local import EmbeddedAWS
from devtools.strict_dynamodb import StrictControl
from tests.support import ApiClient

# Caches as in production, so a warm container has its tenant, bot and key when storage turns slow.
CACHES = {"AUTH_CACHE_TTL_SECONDS": "60", "BOT_CACHE_SECONDS": "60", "TENANT_CACHE_SECONDS": "30"}


def forget_clients_and_caches() -> None:
    """Every cached client, setting and store of the atende package (they point at one endpoint)."""
    for name, module in list(sys.modules.items()):
        if name == "atende" or name.startswith("atende."):
            for value in list(vars(module).values()):
                if callable(getattr(value, "cache_clear", None)) and getattr(value, "__module__", None) == name:
                    value.cache_clear()


@pytest.fixture(scope="module")
def strict_aws(aws: EmbeddedAWS) -> Iterator[EmbeddedAWS]:
    """A strict front door to the session's moto backends (moto keeps one state per process, so the template's
    resources are already there); the endpoint, settings and caches come back afterwards."""
    saved = dict(os.environ)
    strict = EmbeddedAWS(strict=True).start()
    try:
        os.environ.update({"AWS_ENDPOINT_URL": strict.endpoint, **CACHES})
        forget_clients_and_caches()
        yield strict
    finally:
        strict.stop()
        os.environ.clear()
        os.environ.update(saved)
        forget_clients_and_caches()


@pytest.fixture
def control(strict_aws: EmbeddedAWS) -> Iterator[StrictControl]:
    assert strict_aws.strict is not None
    strict_aws.strict.reset()
    yield strict_aws.strict
    strict_aws.strict.reset()


@pytest.fixture(scope="module")
def strict_api(strict_aws: EmbeddedAWS) -> ApiClient:
    """Fresh containers, so no function copy keeps a client of the plain endpoint."""
    return ApiClient(ApiGatewayEmulator(stage="test"))
