"""This folder's tests reach the session's AWS through the strict DynamoDB layer (devtools.strict_dynamodb)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from dataclasses import replace

import pytest

from devtools.apigw import ApiGatewayEmulator
from devtools.aws_local import EmbeddedAWS
from devtools.containers import Containers
from devtools.strict_dynamodb import StrictControl
from tests.support import ApiClient

# Caches as in production, so a warm container has its tenant, bot and key when storage turns slow.
CACHES = {"AUTH_CACHE_TTL_SECONDS": "60", "BOT_CACHE_SECONDS": "60", "TENANT_CACHE_SECONDS": "30"}


def forget_clients_and_caches() -> None:
    """Every cached client, setting and store of the atende package in this process."""
    for name, module in list(sys.modules.items()):
        if name == "atende" or name.startswith("atende."):
            for value in list(vars(module).values()):
                if callable(getattr(value, "cache_clear", None)) and getattr(value, "__module__", None) == name:
                    value.cache_clear()


@pytest.fixture(scope="module")
def strict_aws(aws: EmbeddedAWS) -> Iterator[EmbeddedAWS]:
    """The session's AWS (strict by default), with production-like caches in this process for the module."""
    assert aws.strict is not None, "the integration suite runs on the strict local DynamoDB"
    saved = dict(os.environ)
    try:
        os.environ.update(CACHES)
        forget_clients_and_caches()
        yield aws
    finally:
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
def strict_api(strict_aws: EmbeddedAWS, containers: Containers) -> Iterator[ApiClient]:
    """Fresh containers with production-like caches (a warm container keeps its tenant, bot and key)."""
    runtime = replace(containers.runtime, overrides={**containers.runtime.overrides, **CACHES})
    own = Containers(runtime)
    yield ApiClient(ApiGatewayEmulator(own, stage="test"))
    own.close()
