"""Embedded AWS for the local stack and the tests: a moto server on loopback, provisioned from template.yaml."""

from __future__ import annotations

import json
import os
import re
import socket
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from moto.server import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server

from devtools.strict_dynamodb import StrictControl, StrictDynamoDB
from devtools.template import load_template

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"
REGION = "us-east-1"
ACCOUNT = "123456789012"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _OneAtATime:
    """Serializes moto's request handling. moto checks a conditional write and applies it in separate steps
    without a lock, so two concurrent transactions can both pass `attribute_not_exists` and one is lost;
    DynamoDB itself makes them atomic. One request at a time restores DynamoDB's semantics locally."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        with self.lock:
            return list(self.app(environ, start_response))


class _QuietHandler(MotoRequestHandler):
    disable_nagle_algorithm = True  # otherwise every call can stall 40 ms on a delayed ACK

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        """Silent: the local stack prints its own URL and keys, not one line per AWS call."""


def strict_from_env() -> bool:
    """ATENDE_LOCAL_AWS: `strict` (default: devtools.strict_dynamodb in front of moto) or `moto` (plain moto)."""
    mode = os.environ.get("ATENDE_LOCAL_AWS", "strict").strip().lower() or "strict"
    if mode not in ("moto", "strict"):
        raise ValueError(f"ATENDE_LOCAL_AWS must be 'moto' or 'strict', not {mode!r}")
    return mode == "strict"


class EmbeddedAWS:
    """A moto server on 127.0.0.1; `environ()` is what boto3 needs to talk to it (and only to it).

    With `strict` (default: ATENDE_LOCAL_AWS) DynamoDB calls go through the strict layer, requests are served
    concurrently, and `self.strict` is its control client; otherwise `self.strict` is None."""

    def __init__(self, port: int = 0, strict: bool | None = None) -> None:
        self.port = port or free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        moto_app = DomainDispatcherApplication(create_backend_app)
        self.strict: StrictControl | None = None
        app: Any
        if strict_from_env() if strict is None else strict:
            app = StrictDynamoDB(moto_app)
            self.strict = StrictControl(self.endpoint)
        else:
            app = _OneAtATime(moto_app)
        self.server = make_server("127.0.0.1", self.port, app, threaded=True, request_handler=_QuietHandler)
        self._thread = threading.Thread(target=self.server.serve_forever, name="embedded-aws", daemon=True)
        # Any key works until IAM is enforced; then the local admin's (see devtools.iam_local).
        self.credentials = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}

    def start(self) -> EmbeddedAWS:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self._thread.join(timeout=5)

    def location(self) -> dict[str, str]:
        """Where the embedded AWS is, without credentials."""
        return {"AWS_ENDPOINT_URL": self.endpoint, "AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION}

    def environ(self) -> dict[str, str]:
        return {**self.location(), **self.credentials}


@dataclass
class Provisioned:
    """What the template's resources became locally: physical ids and each function's environment."""

    parameters: dict[str, str]
    physical: dict[str, str] = field(default_factory=dict)
    arns: dict[str, str] = field(default_factory=dict)
    function_env: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def shared_env(self) -> dict[str, str]:
        """The variables every function shares (what Globals declares); per-function names are dropped."""
        envs = list(self.function_env.values())
        if not envs:
            return {}
        return {k: v for k, v in envs[0].items() if all(e.get(k) == v for e in envs)}


class Resolver:
    """Just enough of CloudFormation's intrinsic functions to resolve names, ARNs and environment values."""

    def __init__(self, parameters: dict[str, str], physical: dict[str, str], arns: dict[str, str]) -> None:
        self.parameters, self.physical, self.arns = parameters, physical, arns

    def ref(self, name: str) -> str:
        pseudo = {
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT,
            "AWS::StackName": "atende-local",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::Partition": "aws",
        }
        if name in pseudo:
            return pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        return self.physical.get(name, name)

    def resolve(self, value: Any) -> Any:
        if isinstance(value, dict) and len(value) == 1:
            ((fn, arg),) = value.items()
            if fn == "Ref":
                return self.ref(arg)
            if fn == "Fn::Sub":
                text, extra = (arg, {}) if isinstance(arg, str) else (arg[0], self.resolve(arg[1]))
                return re.sub(r"\$\{([^}]+)\}", lambda m: str(extra.get(m[1], self._sub_name(m[1]))), text)
            if fn == "Fn::GetAtt":
                resource, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
                if attribute == "TopicName":  # a topic's physical id is its ARN
                    return str(self.physical.get(resource, resource)).rsplit(":", 1)[-1]
                return (
                    self.arns.get(resource, self.physical.get(resource, resource))
                    if attribute == "Arn"
                    else (self.physical.get(resource, resource))
                )
            if fn == "Fn::Join":
                return arg[0].join(str(self.resolve(v)) for v in arg[1])
        if isinstance(value, dict):
            return {k: self.resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        return value

    def _sub_name(self, name: str) -> str:
        if "." in name:
            return str(self.resolve({"Fn::GetAtt": name}))
        return self.ref(name)


def provision(overrides: dict[str, str] | None = None, *, root_key: str, template: Path = TEMPLATE) -> Provisioned:
    """Create the table, secrets, topics and parameters the template declares, in the moto server boto3 points at."""
    doc = load_template(template)
    parameters = {name: str(spec.get("Default", "")) for name, spec in doc.get("Parameters", {}).items()}
    parameters.update(overrides or {})
    resources: dict[str, dict[str, Any]] = doc["Resources"]
    physical: dict[str, str] = {}
    arns: dict[str, str] = {}
    resolver = Resolver(parameters, physical, arns)
    stage = parameters.get("Stage", "dev")

    for logical, resource in resources.items():
        kind, props = resource["Type"], resolver.resolve(resource.get("Properties", {}))
        if kind == "AWS::DynamoDB::Table":
            name = props.get("TableName") or f"atende-{stage}-{logical}"
            _create_table(name, props)
            physical[logical], arns[logical] = name, f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}"
        elif kind == "AWS::SecretsManager::Secret":
            name = props.get("Name") or f"atende/{stage}/{logical}"
            template_doc = json.loads(props.get("GenerateSecretString", {}).get("SecretStringTemplate", "{}"))
            key_field = props.get("GenerateSecretString", {}).get("GenerateStringKey", "key")
            arn = boto3.client("secretsmanager").create_secret(
                Name=name, SecretString=json.dumps({**template_doc, key_field: root_key})
            )["ARN"]
            physical[logical], arns[logical] = arn, arn  # Ref of a secret is its ARN
        elif kind == "AWS::SNS::Topic":
            arn = boto3.client("sns").create_topic(Name=props.get("TopicName") or f"atende-{stage}-{logical}")[
                "TopicArn"
            ]
            physical[logical], arns[logical] = arn, arn
        elif kind == "AWS::SQS::Queue":
            name = props.get("QueueName") or f"atende-{stage}-{logical}"
            url = boto3.client("sqs").create_queue(QueueName=name)["QueueUrl"]
            arn = boto3.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
            # GetAtt QueueName reads the physical id; Ref (the URL on AWS) is not used by the template.
            physical[logical], arns[logical] = name, arn["Attributes"]["QueueArn"]
        elif kind == "AWS::Serverless::Api":
            physical[logical] = "local"

    for logical, resource in resources.items():
        kind, props = resource["Type"], resource.get("Properties", {})
        if kind == "AWS::SSM::Parameter":
            resolved = resolver.resolve(props)
            boto3.client("ssm").put_parameter(
                Name=resolved["Name"], Value=str(resolved["Value"]), Type="String", Overwrite=True
            )
            physical[logical] = resolved["Name"]

    globals_env = doc.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
    provisioned = Provisioned(parameters=parameters, physical=physical, arns=arns)
    for resource in resources.values():
        if resource["Type"] == "AWS::Serverless::Function":
            own = resource.get("Properties", {}).get("Environment", {}).get("Variables", {})
            env = {k: str(v) for k, v in resolver.resolve({**globals_env, **own}).items()}
            provisioned.function_env[function_name(resource)] = env
    return provisioned


def function_name(resource: dict[str, Any]) -> str:
    """functions/<name>/ → <name>: the key the local stack uses for a function."""
    return str(resource["Properties"]["CodeUri"]).rstrip("/").split("/")[-1]


def _create_table(name: str, props: dict[str, Any]) -> None:
    client = boto3.client("dynamodb")
    args: dict[str, Any] = {
        "TableName": name,
        "KeySchema": props["KeySchema"],
        "AttributeDefinitions": props["AttributeDefinitions"],
        "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
    }
    if props.get("GlobalSecondaryIndexes"):
        args["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
    client.create_table(**args)
    ttl = props.get("TimeToLiveSpecification")
    if ttl:
        client.update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)


def apply_environ(env: dict[str, str]) -> None:
    os.environ.update(env)
    if "AWS_ACCESS_KEY_ID" in env and "AWS_SESSION_TOKEN" not in env:
        os.environ.pop("AWS_SESSION_TOKEN", None)  # a user's keys, not a role session's
