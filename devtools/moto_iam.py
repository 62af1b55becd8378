"""IAM enforcement in the embedded moto with the real IAM action names and resource ARNs of each request."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from moto import settings
from moto.apigateway.responses import APIGatewayResponse
from moto.cloudwatch.responses import CloudWatchResponse
from moto.core.authorization import ActionAuthenticatorMixin
from moto.core.exceptions import JsonRESTError
from moto.core.exceptions import _RESTError as RESTError
from moto.dynamodb.responses import DynamoHandler
from moto.iam.access_control import IAMRequest
from moto.secretsmanager.models import secretsmanager_backends
from moto.secretsmanager.responses import SecretsManagerResponse
from moto.sns.responses import SNSResponse
from moto.ssm.responses import SimpleSystemManagerResponse

# moto checks every identity policy against the resource "*" only (a statement scoped to a table never
# matches), names CloudWatch's actions after its signing name ("monitoring:…") and API Gateway's after the
# operation ("apigateway:CreateApiKey" rather than "apigateway:POST"). For the services Atende calls, the
# checks below pass moto's own evaluator the action and every resource IAM would authorize.
_TRANSACT = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem", "ConditionCheck": "ConditionCheckItem"}


@dataclass(frozen=True)
class Check:
    identity: str  # the caller's ARN (an assumed role per function)
    action: str
    resource: str
    allowed: bool


class AccessLog:
    """Each distinct authorized check, and every refusal in order, to report what each function called and what
    was refused. Allowed checks are kept once each (a stack serving for hours repeats the same few hundred)."""

    def __init__(self) -> None:
        self._allowed: dict[Check, None] = {}  # distinct, in the order first seen
        self._denied: list[Check] = []
        self._lock = threading.Lock()

    def add(self, check: Check) -> None:
        with self._lock:
            if check.allowed:
                self._allowed.setdefault(check, None)
            else:
                self._denied.append(check)

    def denied(self) -> list[Check]:
        with self._lock:
            return list(self._denied)

    def held(self) -> int:
        """How many checks the log holds."""
        with self._lock:
            return len(self._allowed) + len(self._denied)

    def write_summary(self, path: str) -> None:
        """Per identity, each (action, resource) called and whether it was allowed, as JSON."""
        with self._lock:
            checks = [*self._allowed, *self._denied]
        summary: dict[str, dict[str, bool]] = {}
        for check in checks:
            calls = summary.setdefault(check.identity.split("/")[-1], {})
            key = f"{check.action} {check.resource}"
            calls[key] = calls.get(key, True) and check.allowed
        with open(path, "w", encoding="utf-8") as out:
            json.dump({who: dict(sorted(calls.items())) for who, calls in sorted(summary.items())}, out, indent=1)


ACCESS_LOG = AccessLog()


def _arn(self: Any, service: str, resource: str, region: bool = True) -> str:
    return f"arn:aws:{service}:{self.region if region else ''}:{self.current_account}:{resource}"


def _body(self: Any) -> dict[str, Any]:
    """The request's parameters: parsed by moto for most services, else the JSON body."""
    if getattr(self, "automated_parameter_parsing", False) and isinstance(getattr(self, "params", None), dict):
        return dict(self.params)
    if isinstance(self.body, dict):
        return dict(self.body)
    try:
        return dict(json.loads(self.body or "{}"))
    except (ValueError, TypeError):
        return {}


def _dynamodb(self: Any, action: str) -> list[tuple[str, str]]:
    body = _body(self)

    def table(name: str, index: str | None = None) -> str:
        return _arn(self, "dynamodb", f"table/{name}" + (f"/index/{index}" if index else ""))

    if action in ("BatchGetItem", "BatchWriteItem"):
        return [(action, table(name)) for name in body.get("RequestItems", {})]
    if action == "TransactWriteItems":
        return [
            (_TRANSACT[kind], table(op["TableName"])) for item in body["TransactItems"] for kind, op in item.items()
        ]
    if action == "TransactGetItems":
        return [("GetItem", table(item["Get"]["TableName"])) for item in body["TransactItems"]]
    if "TableName" in body:
        return [(action, table(body["TableName"], body.get("IndexName")))]
    return [(action, "*")]


def _secretsmanager(self: Any, action: str) -> list[tuple[str, str]]:
    body = _body(self)
    secret_id = body.get("SecretId") or body.get("Name")
    if not secret_id:
        return [(action, "*")]  # ListSecrets and the like authorize on "*" only
    try:
        return [(action, secretsmanager_backends[self.current_account][self.region].describe_secret(secret_id).arn)]
    except Exception:  # noqa: BLE001 — not created yet: the ARN without its random suffix
        return [
            (action, secret_id if secret_id.startswith("arn:") else _arn(self, "secretsmanager", f"secret:{secret_id}"))
        ]


def _names(self: Any, name: str) -> list[str]:
    value = self._get_param(name)
    if isinstance(value, list):
        return [str(v) for v in value]
    multi = getattr(self, "_get_multi_param", None)  # query protocol only
    found = multi(f"{name}.member") if multi else None
    return [str(v) for v in found] if found else ([str(value)] if value else [])


def _cloudwatch(self: Any, action: str) -> list[tuple[str, str]]:
    names = _names(self, "AlarmNames") or _names(self, "AlarmName")
    if not names and (prefix := self._get_param("AlarmNamePrefix")):
        names = [f"{prefix}*"]  # the alarms the prefix can list
    if not names and action == "DescribeAlarms":
        names = ["*"]
    if not names:
        resource_arn = self._get_param("ResourceARN")  # TagResource
        return [(f"cloudwatch:{action}", str(resource_arn or "*"))]
    return [(f"cloudwatch:{action}", _arn(self, "cloudwatch", f"alarm:{name}")) for name in names]


def _sns(self: Any, action: str) -> list[tuple[str, str]]:
    arn = self._get_param("TopicArn") or self._get_param("TargetArn")
    if action == "CreateTopic":
        arn = _arn(self, "sns", str(self._get_param("Name")))
    return [(action, str(arn or "*"))]


def _ssm(self: Any, action: str) -> list[tuple[str, str]]:
    names = _body(self).get("Names") or [_body(self).get("Name")]
    return [(action, _arn(self, "ssm", f"parameter/{str(n).lstrip('/')}") if n else "*") for n in names]


def _apigateway(self: Any, action: str) -> list[tuple[str, str]]:
    path = urlparse(self.uri).path
    return [(f"apigateway:{self.method}", f"arn:aws:apigateway:{self.region}::{path}")]


_SERVICES: dict[type, tuple[str, Callable[[Any, str], list[tuple[str, str]]]]] = {
    DynamoHandler: ("dynamodb", _dynamodb),
    SecretsManagerResponse: ("secretsmanager", _secretsmanager),
    CloudWatchResponse: ("cloudwatch", _cloudwatch),
    SNSResponse: ("sns", _sns),
    SimpleSystemManagerResponse: ("ssm", _ssm),
    APIGatewayResponse: ("apigateway", _apigateway),
}


# moto answers auth failures in XML, which clients of JSON protocols cannot parse: AWS's JSON error codes.
_JSON_CODES = {
    "AccessDenied": "AccessDeniedException",
    "InvalidClientTokenId": "UnrecognizedClientException",
    "SignatureDoesNotMatch": "InvalidSignatureException",
}


def _authorizer(service: str, describe: Callable[[Any, str], list[tuple[str, str]]]) -> Callable[..., None]:
    def authorize(self: Any, resource: str = "*") -> None:
        if ActionAuthenticatorMixin.request_count < settings.INITIAL_NO_AUTH_ACTION_COUNT:
            ActionAuthenticatorMixin.request_count += 1
            return
        try:
            _check(self, service, describe)
        except RESTError as error:
            if service not in ("dynamodb", "secretsmanager", "ssm", "apigateway"):
                raise  # query protocols read the XML; CloudWatch's CBOR clients see a bare 403 either way
            json_error = JsonRESTError(_JSON_CODES.get(error.error_type, error.error_type), error.message)
            json_error.code = error.code
            raise json_error from error

    return authorize


def _form(self: Any) -> bool:
    """A query-protocol POST, whose body moto already parsed into `data` (what it signs then)."""
    return "x-www-form-urlencoded" in str(self.headers.get("Content-Type", ""))


def _check(self: Any, service: str, describe: Callable[[Any, str], list[tuple[str, str]]]) -> None:
    path = self.raw_path + (f"?{urlparse(self.uri).query}" if urlparse(self.uri).query else "")
    request = IAMRequest(
        account_id=self.current_account,
        method=self.method,
        path=path,
        data=self.data if self.raw_body or _form(self) else {},  # a bodiless call: not its query as a body
        body=self.raw_body,
        headers=self.headers,
        action=self._get_action(),
    )
    if "gzip" not in str(self.headers.get("Content-Encoding", "")):  # moto has only the inflated body to check
        request.check_signature()
    identity = request._access_key.arn
    for action, target in describe(self, self._get_action()):
        request._action = action if ":" in action else f"{service}:{action}"
        try:
            request.check_action_permitted(target)
        except Exception:
            ACCESS_LOG.add(Check(identity, request._action, target, False))
            raise
        ACCESS_LOG.add(Check(identity, request._action, target, True))


def enforce() -> None:
    """From now on every request to the embedded moto is signed by a known identity and allowed by its policies."""
    for response_class, (service, describe) in _SERVICES.items():
        setattr(response_class, "_authenticate_and_authorize_normal_action", _authorizer(service, describe))  # noqa: B010
    ActionAuthenticatorMixin.request_count = 0
    settings.INITIAL_NO_AUTH_ACTION_COUNT = 0  # type: ignore[assignment]


def relax() -> None:
    """Back to moto's default: no authentication at all."""
    settings.INITIAL_NO_AUTH_ACTION_COUNT = float("inf")  # type: ignore[assignment]
