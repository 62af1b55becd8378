"""A strict local AWS (devtools.strict_dynamodb) for this folder's tests, swapped in and out of the process."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator

import pytest

from devtools.apigw import ApiGatewayEmulator
from devtools.aws_local import EmbeddedAWS, apply_environ, provision
from devtools.strict_dynamodb import StrictControl
from tests.support import ApiClient

ROOT_KEY = "atd_strict-integration-root-000000000000000000"
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
def strict_aws() -> Iterator[EmbeddedAWS]:
    """The template's resources in a strict embedded AWS; the environment and caches are restored afterwards."""
    saved = dict(os.environ)
    embedded = EmbeddedAWS(strict=True).start()
    try:
        apply_environ(embedded.environ())
        provisioned = provision({"Stage": "test"}, root_key=ROOT_KEY)
        apply_environ({**provisioned.shared_env, **CACHES})
        os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
        os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "Atende")
        forget_clients_and_caches()
        yield embedded
    finally:
        embedded.stop()
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
    return ApiClient(ApiGatewayEmulator(stage="test"))


@pytest.fixture(scope="module")
def strict_root_key() -> str:
    return ROOT_KEY
