"""Integration fixtures: moto server on loopback provisioned from template.yaml, the fake upstream, the API."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from devtools.apigw import ApiGatewayEmulator
from devtools.aws_local import EmbeddedAWS, apply_environ, provision
from devtools.fake_openai import FakeOpenAI
from tests.support import ApiClient, ChatSetup, TenantHandle, chat_setup, create_tenant

ROOT_KEY = "atd_integration-root-key-000000000000000000000"


@pytest.fixture(scope="session")
def aws() -> Iterator[EmbeddedAWS]:
    embedded = EmbeddedAWS().start()
    apply_environ(embedded.environ())
    provisioned = provision({"Stage": "test"}, root_key=ROOT_KEY)
    apply_environ(provisioned.shared_env)
    os.environ["AUTH_CACHE_TTL_SECONDS"] = "0"
    os.environ["BOT_CACHE_SECONDS"] = "0"  # tests change bots and chat at once
    os.environ["TENANT_CACHE_SECONDS"] = "0"
    os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
    os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "Atende")
    yield embedded
    embedded.stop()


@pytest.fixture(scope="session")
def emulator(aws: EmbeddedAWS) -> ApiGatewayEmulator:
    return ApiGatewayEmulator(stage="test")


@pytest.fixture(scope="session")
def api(emulator: ApiGatewayEmulator) -> ApiClient:
    return ApiClient(emulator)


@pytest.fixture(scope="session")
def root_key() -> str:
    return ROOT_KEY


@pytest.fixture
def tenant(api: ApiClient) -> TenantHandle:
    return create_tenant(api, ROOT_KEY)


@pytest.fixture
def other_tenant(api: ApiClient) -> TenantHandle:
    return create_tenant(api, ROOT_KEY)


@pytest.fixture(scope="session")
def upstream_server() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        yield server


@pytest.fixture
def upstream(upstream_server: FakeOpenAI) -> FakeOpenAI:
    upstream_server.reset()
    return upstream_server


@pytest.fixture
def setup(tenant: TenantHandle, upstream: FakeOpenAI) -> ChatSetup:
    """A tenant ready to chat: credential at the fake upstream, bot `shop`, a chat-scope key."""
    return chat_setup(tenant, upstream)


@pytest.fixture
def backup_upstream() -> Iterator[FakeOpenAI]:
    """A second fake upstream, for fallback providers."""
    with FakeOpenAI() as server:
        yield server
