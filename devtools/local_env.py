"""The local AWS account both the tests and `make dev` start: moto, the template's resources, roles, containers."""

from __future__ import annotations

import os
from dataclasses import dataclass

import boto3

from devtools import moto_iam
from devtools.aws_local import EmbeddedAWS, Provisioned, apply_environ, provision
from devtools.containers import Containers, Runtime
from devtools.iam_local import bootstrap_admin, create_roles, function_roles

# Locally there is no X-Ray daemon to send traces to.
LOCAL_FUNCTION_ENV = {"POWERTOOLS_TRACE_DISABLED": "true"}


@dataclass
class LocalAccount:
    aws: EmbeddedAWS
    provisioned: Provisioned
    containers: Containers
    iam: bool

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
    aws = EmbeddedAWS(aws_port).start()
    if iam:
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
    return LocalAccount(aws, provisioned, Containers(runtime), iam)


def iam_enabled() -> bool:
    """ATENDE_LOCAL_IAM=0 runs every function with administrator keys (to tell an IAM failure from a bug)."""
    return os.environ.get("ATENDE_LOCAL_IAM", "1") != "0"
