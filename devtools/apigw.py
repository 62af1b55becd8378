"""An API Gateway REST emulator: routes read from template.yaml's events, the same authorizer, proxy events."""

from __future__ import annotations

import base64
import contextlib
import gzip
import json
import re
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from werkzeug.wrappers import Request, Response

from devtools.aws_local import ACCOUNT, REGION, TEMPLATE, function_name
from devtools.containers import Invoker
from devtools.template import load_template


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # API Gateway resource path, e.g. /v1/bots/{bot}/chat
    function: str
    authorized: bool
    pattern: re.Pattern[str]

    def match(self, method: str, path: str) -> dict[str, str] | None:
        if method != self.method:
            return None
        found = self.pattern.fullmatch(path)
        return found.groupdict() if found else None


def _compile(path: str) -> re.Pattern[str]:
    regex = re.sub(r"\\\{([A-Za-z0-9_]+)\\\+\\\}", r"(?P<\1>.+)", re.escape(path))
    regex = re.sub(r"\\\{([A-Za-z0-9_]+)\\\}", r"(?P<\1>[^/]+)", regex)
    return re.compile(regex)


def routes_from_template(template: Path = TEMPLATE) -> tuple[list[Route], dict[str, Any]]:
    """Every Api event of every function, and the Api's gateway responses."""
    doc = load_template(template)
    routes, gateway_responses = [], {}
    for resource in doc["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Api":
            gateway_responses = resource["Properties"].get("GatewayResponses", {})
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        for event in (resource["Properties"].get("Events") or {}).values():
            if event.get("Type") != "Api":
                continue
            props = event["Properties"]
            auth = (props.get("Auth") or {}).get("Authorizer")
            routes.append(
                Route(
                    props["Method"].upper(),
                    props["Path"],
                    function_name(resource),
                    auth != "NONE",
                    _compile(props["Path"]),
                )
            )
    # Literal segments beat parameters, as in API Gateway: sort so that fewer {…} come first.
    routes.sort(key=lambda r: (r.path.count("{"), -len(r.path)))
    return routes, gateway_responses


def raw_path(request: Request) -> str:
    """The path as the client sent it, still percent-encoded, as API Gateway REST routes it and passes it on
    (`path`, `pathParameters`): an encoded `/` stays inside its segment, and decoding is the function's job."""
    raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI")
    if not isinstance(raw, str) or not raw.startswith("/"):
        return request.path
    with contextlib.suppress(UnicodeError):  # WSGI carries raw bytes as latin-1: UTF-8 sent unencoded is text again
        raw = raw.encode("latin-1").decode("utf-8")
    return raw.split("?", 1)[0]


def compression_threshold(template: Path = TEMPLATE) -> int | None:
    """The Api's MinimumCompressionSize (bytes), or None when it compresses nothing."""
    for resource in load_template(template)["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Api" and "MinimumCompressionSize" in resource["Properties"]:
            return int(resource["Properties"]["MinimumCompressionSize"])
    return None


class ApiGatewayEmulator:
    """A WSGI app answering like API Gateway's REST proxy integration in front of our functions."""

    def __init__(self, containers: Invoker, stage: str = "dev", template: Path = TEMPLATE) -> None:
        self.routes, self.gateway_responses = routes_from_template(template)
        self.minimum_compression_size = compression_threshold(template)
        self.stage, self.containers = stage, containers

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        return self.handle(Request(environ))(environ, start_response)

    def handle(self, request: Request) -> Response:
        started, request_id = time.time(), str(uuid.uuid4())
        path, method = raw_path(request), request.method.upper()
        route, params = self._find(method, path)
        if route is None:  # API Gateway answers an unknown path or method alike
            return self._gateway_error("MISSING_AUTHENTICATION_TOKEN", 404, request_id)
        event = self._proxy_event(request, route, params or {}, started, request_id)
        if route.authorized:
            authorization = self._authorize(event)
            if authorization is None:
                return self._gateway_error("UNAUTHORIZED", 401, request_id)
            event["requestContext"]["authorizer"] = authorization
        result = self.containers.invoke(route.function, event)
        response = self._to_response(result)
        response.headers["x-amzn-RequestId"] = request_id  # as API Gateway answers
        self._compress(request, response)
        return response

    def _compress(self, request: Request, response: Response) -> None:
        """gzip an answer of at least MinimumCompressionSize bytes when the client accepts it, as API Gateway does
        (an answer the function already encoded is left alone)."""
        threshold = self.minimum_compression_size
        if threshold is None or "Content-Encoding" in response.headers or request.accept_encodings["gzip"] <= 0:
            return
        data = response.get_data()
        if len(data) >= threshold:
            response.set_data(gzip.compress(data))
            response.headers["Content-Encoding"] = "gzip"

    def _find(self, method: str, path: str) -> tuple[Route | None, dict[str, str] | None]:
        for route in self.routes:
            params = route.match(method, path)
            if params is not None:
                return route, params
        return None, None

    def _proxy_event(
        self, request: Request, route: Route, params: dict[str, str], started: float, request_id: str
    ) -> dict[str, Any]:
        path = raw_path(request)
        headers = {k: v for k, v in request.headers.items()}
        multi_headers: dict[str, list[str]] = {}
        for k, v in request.headers.items():
            multi_headers.setdefault(k, []).append(v)
        query = parse_qsl(request.query_string.decode(), keep_blank_values=True)
        raw = request.get_data()
        try:
            body, is_b64 = raw.decode("utf-8"), False
        except UnicodeDecodeError:
            body, is_b64 = base64.b64encode(raw).decode(), True
        return {
            "resource": route.path,
            "path": path,
            "httpMethod": request.method.upper(),
            "headers": headers,
            "multiValueHeaders": multi_headers,
            "queryStringParameters": dict(query) or None,
            "multiValueQueryStringParameters": _multi(query) or None,
            "pathParameters": params or None,
            "stageVariables": None,
            "body": body if raw else None,
            "isBase64Encoded": is_b64,
            "requestContext": {
                "resourcePath": route.path,
                "httpMethod": request.method.upper(),
                "path": f"/{self.stage}{path}",
                "stage": self.stage,
                "requestId": request_id,
                "extendedRequestId": request_id,
                "requestTimeEpoch": int(started * 1000),
                "accountId": ACCOUNT,
                "apiId": "local",
                "protocol": "HTTP/1.1",
                "identity": {"sourceIp": request.remote_addr or "127.0.0.1", "userAgent": request.user_agent.string},
            },
        }

    def _authorize(self, event: dict[str, Any]) -> dict[str, Any] | None:
        method_arn = (
            f"arn:aws:execute-api:{REGION}:{ACCOUNT}:local/{self.stage}/{event['httpMethod']}{event['resource']}"
        )
        auth_event = {**event, "type": "REQUEST", "methodArn": method_arn}
        try:
            policy = self.containers.invoke("authorizer", auth_event)
        except Exception:  # noqa: BLE001 — API Gateway answers 401 for "Unauthorized" and 500 for the rest
            return None
        statements = policy.get("policyDocument", {}).get("Statement", [])
        if not any(s.get("Effect") == "Allow" for s in statements):
            return None
        return {**(policy.get("context") or {}), "principalId": policy.get("principalId")}

    def _gateway_error(self, kind: str, status: int, request_id: str) -> Response:
        spec = self.gateway_responses.get(kind) or self.gateway_responses.get("DEFAULT_4XX") or {}
        body = (spec.get("ResponseTemplates") or {}).get("application/json")
        if body is None:
            body = json.dumps({"message": "Missing Authentication Token" if status == 404 else "Unauthorized"})
        context = {"context.requestId": request_id}
        mapped = (spec.get("ResponseParameters") or {}).get("Headers") or {}
        # A header value is a 'static' string or a mapped source; of the sources, only the request id is used.
        headers = {k: context[v] if v in context else v.strip("'") for k, v in mapped.items()}
        headers["x-amzn-RequestId"] = request_id
        return Response(
            body, status=int(spec.get("StatusCode", status)), headers=headers, content_type="application/json"
        )

    @staticmethod
    def _to_response(result: dict[str, Any]) -> Response:
        body = result.get("body") or ""
        data = base64.b64decode(body) if result.get("isBase64Encoded") else body.encode("utf-8")
        response = Response(data, status=int(result.get("statusCode", 200)))
        response.headers.clear()
        for key, value in (result.get("headers") or {}).items():
            response.headers[key] = str(value)
        for key, values in (result.get("multiValueHeaders") or {}).items():
            response.headers.remove(key)
            for value in values:
                response.headers.add(key, str(value))
        return response


def _multi(pairs: list[tuple[str, str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for key, value in pairs:
        out.setdefault(key, []).append(value)
    return out
