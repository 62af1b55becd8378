"""Integration fixtures: moto server on loopback provisioned from template.yaml, the fake upstream, the API."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from devtools.apigw import ApiGatewayEmulator
from devtools.aws_local import EmbeddedAWS
from devtools.containers import Containers
from devtools.fake_openai import FakeOpenAI
from devtools.functions import InThreadContainers
from devtools.local_env import LocalAccount, iam_enabled, start_account
from devtools.moto_iam import ACCESS_LOG
from tests.support import ApiClient, ChatSetup, TenantHandle, chat_setup, create_tenant

ROOT_KEY = "atd_integration-root-key-000000000000000000000"


# Tests change bots and chat at once, and revoke keys: no caches, in the functions or in this process.
NO_CACHES = {"AUTH_CACHE_TTL_SECONDS": "0", "BOT_CACHE_SECONDS": "0", "TENANT_CACHE_SECONDS": "0"}


@pytest.fixture(scope="session")
def account() -> Iterator[LocalAccount]:
    """moto provisioned from template.yaml; with IAM enforced, each function runs with its own role's keys."""
    local = start_account({"Stage": "test"}, root_key=ROOT_KEY, iam=iam_enabled(), function_env=NO_CACHES)
    os.environ.update(NO_CACHES)
    os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
    os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "Atende")
    yield local
    if report := os.environ.get("ATENDE_IAM_REPORT"):  # what each function called, allowed or not
        ACCESS_LOG.write_summary(report)
    local.stop()


@pytest.fixture(autouse=True)
def _no_access_denied(request: pytest.FixtureRequest) -> Iterator[None]:
    """A call a function's role does not allow fails the test that caused it, naming function, action, resource."""
    before = len(ACCESS_LOG.denied())
    yield
    found = ACCESS_LOG.denied()[before:]
    if found and request.node.get_closest_marker("denials_expected") is None:
        lines = "\n".join(f"  {c.identity.split('/')[-1]}: {c.action} on {c.resource}" for c in found)
        pytest.fail(f"AWS refused {len(found)} call(s) the template does not allow:\n{lines}", pytrace=False)


@pytest.fixture(scope="session")
def aws(account: LocalAccount) -> EmbeddedAWS:
    return account.aws


@pytest.fixture(scope="session")
def containers(account: LocalAccount) -> Containers:
    """Every function's warm containers (worker processes), shared by the emulator and the alarm evaluator."""
    return account.containers


@pytest.fixture(scope="session")
def emulator(containers: Containers) -> ApiGatewayEmulator:
    return ApiGatewayEmulator(containers, stage="test")


@pytest.fixture
def functions_in_this_process(emulator: ApiGatewayEmulator) -> Iterator[None]:
    """For a test that patches a function's own module or client (a budget, a botocore hook): the functions run
    in this process, one request at a time, with this process's (administrator) keys, for the test only."""
    containers = emulator.containers
    emulator.containers = InThreadContainers()
    yield
    emulator.containers = containers


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
