"""The local AWS account both the tests and `make dev` start: moto, the template's resources, roles, containers."""

from __future__ import annotations

import os
from dataclasses import dataclass

import boto3

from devtools import invocation_log, moto_iam
from devtools.aws_local import REGION, EmbeddedAWS, Provisioned, apply_environ, provision
from devtools.containers import Containers, Runtime
from devtools.iam_local import bootstrap_admin, create_roles, function_roles

# Locally there is no X-Ray daemon to send traces to, and the offline upstream listens on loopback (a provider
# base_url on loopback is refused anywhere else).
LOCAL_FUNCTION_ENV = {"POWERTOOLS_TRACE_DISABLED": "true", "ALLOW_LOOPBACK_PROVIDERS": "true"}


@dataclass
class ExternalAWS:
    """An AWS-compatible endpoint someone else runs (ATENDE_AWS_ENDPOINT_URL): used as is, never stopped."""

    endpoint: str

    strict = None  # whatever runs there is its own

    @property
    def credentials(self) -> dict[str, str]:
        keys = {name: os.environ.get(name, "testing") for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
        if token := os.environ.get("AWS_SESSION_TOKEN"):
            keys["AWS_SESSION_TOKEN"] = token
        return keys

    def location(self) -> dict[str, str]:
        region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or REGION
        return {"AWS_ENDPOINT_URL": self.endpoint, "AWS_DEFAULT_REGION": region, "AWS_REGION": region}

    def environ(self) -> dict[str, str]:
        return {**self.location(), **self.credentials}

    def stop(self) -> None:
        """Not ours to stop."""


@dataclass
class LocalAccount:
    aws: EmbeddedAWS | ExternalAWS
    provisioned: Provisioned
    containers: Containers
    iam: bool

    @property
    def external(self) -> bool:
        return isinstance(self.aws, ExternalAWS)

    def stop(self) -> None:
        self.containers.close()
        if self.iam:
            moto_iam.relax()
        self.aws.stop()


def start_account(
    parameters: dict[str, str],
    *,
    root_key: str,
    iam: bool = True,
    function_env: dict[str, str] | None = None,
    aws_port: int = 0,
) -> LocalAccount:
    """Start moto, provision the template and prepare each function's containers.

    With `iam` (the default), this process acts as an administrator and every function runs with the
    credentials of a role holding exactly the policies the SAM-transformed template gives it; moto then
    refuses any call those policies do not allow. `function_env` is added to every function's environment.
    """
    # ATENDE_AWS_ENDPOINT_URL: provision and use that AWS-compatible endpoint instead of starting the embedded one
    # (its own access control applies: local IAM roles need the embedded moto).
    external = os.environ.get("ATENDE_AWS_ENDPOINT_URL")
    for name, value in LOCAL_FUNCTION_ENV.items():  # functions (and the demo seed) run in this process too
        os.environ.setdefault(name, value)
    aws: EmbeddedAWS | ExternalAWS = ExternalAWS(external.rstrip("/")) if external else EmbeddedAWS(aws_port).start()
    iam = iam and not external
    if iam and isinstance(aws, EmbeddedAWS):
        aws.credentials = bootstrap_admin(aws.endpoint)
    apply_environ(aws.environ())
    boto3.setup_default_session()  # the default session caches the credentials it first saw
    provisioned = provision(parameters, root_key=root_key)
    apply_environ(provisioned.shared_env)
    if iam:
        credentials = create_roles(function_roles(provisioned))
    else:
        credentials = {name: dict(aws.credentials) for name in provisioned.function_env}
    runtime = Runtime(
        function_env=provisioned.function_env,
        aws_env=aws.location(),
        credentials=credentials,
        overrides={**LOCAL_FUNCTION_ENV, **(function_env or {})},
    )
    if iam:
        moto_iam.enforce()
    log = invocation_log.InvocationLog() if invocation_log.enabled() else None
    return LocalAccount(aws, provisioned, Containers(runtime, log), iam)


def iam_enabled() -> bool:
    """ATENDE_LOCAL_IAM=0 runs every function with administrator keys (to tell an IAM failure from a bug)."""
    return os.environ.get("ATENDE_LOCAL_IAM", "1") != "0"
