"""Malformed requests on every config route: each gets a 4xx in OpenAI's envelope naming the problem, never a 5xx.

The routes come from template.yaml's events of the config function, and the field cases from the function's own
OpenAPI schema, so a new route or field is covered the day it is added (or this test says what it needs).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

import pytest

from devtools.apigw import routes_from_template
from devtools.functions import load_function
from tests.support import Answer, ApiClient, create_tenant

JSON = {"Content-Type": "application/json"}
BOT = "validation-bot"
UNKNOWN_FIELD = "surprise_field"


@dataclass(frozen=True)
class Spec:
    """How to call one route well, so that each malformed variation is wrong in exactly one way."""

    caller: Literal["none", "admin", "root"]
    body: dict[str, Any] | None = None  # a valid body to spoil; None: the route takes no body
    label: str | None = None  # a one-line text field: bidi overrides and 10k combining marks are refused
    text: str | None = None  # a text field: lone surrogates and NUL are refused


# Every (method, path) of ConfigFunction's events in template.yaml must be listed here.
SPECS: dict[tuple[str, str], Spec] = {
    ("GET", "/openapi.json"): Spec("none"),
    ("GET", "/docs"): Spec("none"),
    ("GET", "/console"): Spec("none"),
    ("GET", "/console/{asset}"): Spec("none"),
    ("GET", "/v1/admin/tenants"): Spec("root"),
    ("POST", "/v1/admin/tenants"): Spec("root", {"name": "Valid"}, label="name", text="name"),
    ("GET", "/v1/admin/tenants/{tenant}"): Spec("root"),
    ("PATCH", "/v1/admin/tenants/{tenant}"): Spec("root", {}, label="name", text="name"),
    ("DELETE", "/v1/admin/tenants/{tenant}"): Spec("root"),
    ("POST", "/v1/admin/tenants/{tenant}/suspend"): Spec("root", {}, label="reason", text="reason"),
    ("POST", "/v1/admin/tenants/{tenant}/resume"): Spec("root"),
    ("POST", "/v1/admin/tenants/{tenant}/keys"): Spec("root", {}, label="label", text="label"),
    ("GET", "/v1/admin/tenants/{tenant}/limits"): Spec("root"),
    ("PUT", "/v1/admin/tenants/{tenant}/limits"): Spec("root", {}),
    ("GET", "/v1/bots"): Spec("admin"),
    ("POST", "/v1/bots"): Spec("admin", {"id": "fresh-bot"}, label="name", text="rules"),
    ("GET", "/v1/bots/{bot}"): Spec("admin"),
    ("PUT", "/v1/bots/{bot}"): Spec("admin", {"version": 1}, label="name", text="knowledge_base"),
    ("PATCH", "/v1/bots/{bot}"): Spec("admin", {"version": 1}, label="name", text="rules"),
    ("DELETE", "/v1/bots/{bot}"): Spec("admin"),
    ("GET", "/v1/keys"): Spec("admin"),
    ("POST", "/v1/keys"): Spec("admin", {}, label="label", text="label"),
    ("DELETE", "/v1/keys/{key_id}"): Spec("admin"),
    ("GET", "/v1/credentials"): Spec("admin"),
    ("GET", "/v1/credentials/{provider}"): Spec("admin"),
    ("PUT", "/v1/credentials/{provider}"): Spec("admin", {"api_key": "sk-valid-0123456789"}, "api_key", "api_key"),
    ("DELETE", "/v1/credentials/{provider}"): Spec("admin"),
    ("GET", "/v1/limits"): Spec("admin"),
    ("PUT", "/v1/limits"): Spec("admin", {}),
    ("GET", "/v1/usage"): Spec("admin"),
    ("GET", "/v1/audit"): Spec("admin"),
}

CONFIG_ROUTES = sorted((r.method, r.path) for r in routes_from_template()[0] if r.function == "config")


@cache
def config_app() -> Any:
    module = load_function("config", container="validation-schema")
    assert module is not None
    return module.app


@cache
def openapi() -> dict[str, Any]:
    """The config function's own OpenAPI document (what its validation enforces)."""
    return dict(json.loads(config_app().get_openapi_json_schema()))


@cache
def served() -> frozenset[tuple[str, str]]:
    """(method, path) of every route functions/config registers, documented or not."""
    app = config_app()
    return frozenset((route.method, route.openapi_path) for route in [*app._static_routes, *app._dynamic_routes])


def operation(route: tuple[str, str]) -> dict[str, Any]:
    """The route's OpenAPI operation ({} for undocumented routes); skips a route the function does not serve yet."""
    method, path = route
    if route not in served():
        pytest.skip(f"{method} {path} is in template.yaml but functions/config does not serve it yet")
    return dict(openapi()["paths"].get(path, {}).get(method.lower()) or {})


def resolve(schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    return dict(openapi()["components"]["schemas"][ref.rsplit("/", 1)[-1]]) if ref else schema


def members(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """The non-null alternatives of a property schema, with references resolved."""
    options = schema.get("anyOf") or schema.get("oneOf") or [schema]
    return [resolve(option) for option in options if option.get("type") != "null"]


def request_schema(route: tuple[str, str]) -> tuple[dict[str, Any] | None, bool]:
    """The route's body schema (resolved) and whether the body is required."""
    body = operation(route).get("requestBody")
    if not body:
        return None, False
    schema = body["content"]["application/json"]["schema"]
    options = members(schema)
    return (options[0] if options else None), bool(body.get("required"))


# --- the world the requests are made in -----------------------------------------------------------------
@dataclass
class World:
    api: ApiClient
    keys: dict[str, str | None]
    path_values: dict[str, str]

    def call(self, route: tuple[str, str], *, path_values: dict[str, str] | None = None, **kwargs: Any) -> Answer:
        method, template = route
        path = template
        for name, value in {**self.path_values, **(path_values or {})}.items():
            path = path.replace("{" + name + "}", value)
        kwargs.setdefault("key", self.keys[SPECS[route].caller])
        return self.api.call(method, path, **kwargs)


@pytest.fixture(scope="module")
def world(api: ApiClient, root_key: str) -> World:
    tenant = create_tenant(api, root_key)
    assert tenant.call("POST", "/v1/bots", json_body={"id": BOT}).status == 201
    assert tenant.call("PUT", "/v1/credentials/openai", json_body={"api_key": "sk-valid-0123456789"}).status == 200
    key_id = tenant.call("POST", "/v1/keys", json_body={"scopes": ["chat"]}).json["id"]
    return World(
        api,
        {"none": None, "admin": tenant.admin_key, "root": root_key},
        {"tenant": tenant.id, "bot": BOT, "provider": "openai", "key_id": key_id},
    )


def refused(answer: Answer, status: int | tuple[int, ...] = 400, param: str | None = None) -> dict[str, Any]:
    """Assert a 4xx in the OpenAI envelope (and the status and param when given); return the error."""
    assert answer.status < 500, f"5xx: {answer.status} {answer.text[:500]}"
    statuses = (status,) if isinstance(status, int) else status
    assert answer.status in statuses, f"{answer.status} {answer.text[:500]}"
    assert answer.headers.get("Content-Type", "").startswith("application/json"), answer.headers
    error = answer.error
    assert error["message"], error
    if param is not None:
        assert error["param"] == param, f"param {error['param']!r}, expected {param!r}: {error['message']}"
    return error


def _routes(predicate: Any = None) -> list[tuple[str, str]]:
    return [route for route in CONFIG_ROUTES if route in SPECS and (predicate is None or predicate(SPECS[route]))]


def _id(route: tuple[str, str]) -> str:
    return f"{route[0]} {route[1]}"


BODY_ROUTES = _routes(lambda spec: spec.body is not None)
POST_PUT_PATCH = [route for route in CONFIG_ROUTES if route[0] in {"POST", "PUT", "PATCH"}]


# --- the table is complete ------------------------------------------------------------------------------
def test_every_config_route_of_the_template_has_a_spec() -> None:
    missing = [f"{m} {p}" for m, p in CONFIG_ROUTES if (m, p) not in SPECS]
    assert not missing, f"add these template.yaml routes to SPECS in {__name__}: {missing}"
    stale = [f"{m} {p}" for m, p in SPECS if (m, p) not in CONFIG_ROUTES]
    assert not stale, f"no longer routes of the config function in template.yaml: {stale}"


def test_every_route_the_function_serves_is_in_the_template() -> None:
    extra = served() - set(CONFIG_ROUTES)
    assert not extra, f"functions/config serves routes template.yaml does not route: {sorted(extra)}"


# --- bodies that are not JSON objects ------------------------------------------------------------------
@pytest.mark.parametrize("route", POST_PUT_PATCH, ids=_id)
@pytest.mark.parametrize(
    "body",
    ['{"name": ', "{'single': 'quotes'}", '{"a": 1,}', "nul\x00", "[" * 200_000],
    ids=["truncated", "single-quotes", "trailing-comma", "nul", "deep-nesting"],
)
def test_invalid_json_is_refused(world: World, route: tuple[str, str], body: str) -> None:
    operation(route)
    error = refused(world.call(route, data=body, headers=JSON), 400, "body")
    assert error["code"] == "invalid_json"


@pytest.mark.parametrize("route", POST_PUT_PATCH, ids=_id)
def test_body_that_is_not_utf8_is_refused(world: World, route: tuple[str, str]) -> None:
    operation(route)
    refused(world.call(route, data=b'{"name": "\xff\xfe"}', headers=JSON), 400, "body")


@pytest.mark.parametrize("route", BODY_ROUTES, ids=_id)
@pytest.mark.parametrize("body", ["[]", '"x"', "3", "true", '[{"name": "x"}]'])
def test_json_that_is_not_an_object_is_refused(world: World, route: tuple[str, str], body: str) -> None:
    request_schema(route)
    error = refused(world.call(route, data=body, headers=JSON), 400, "body")
    assert error["code"] == "invalid_body"


@pytest.mark.parametrize("route", BODY_ROUTES, ids=_id)
@pytest.mark.parametrize("body", ["", "null"], ids=["empty", "null"])
def test_missing_body_is_refused_where_one_is_required(world: World, route: tuple[str, str], body: str) -> None:
    _, required = request_schema(route)
    if not required:
        pytest.skip("the body is optional here: no body means the documented defaults")
    error = refused(world.call(route, data=body, headers=JSON), 400, "body")
    assert error["code"] == "missing_body"


@pytest.mark.parametrize("route", POST_PUT_PATCH, ids=_id)
@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/plain", '{"name": "x"}'),
        ("application/x-www-form-urlencoded", "name=x&label=y"),
        (
            "multipart/form-data; boundary=xyz",
            '--xyz\r\nContent-Disposition: form-data; name="n"\r\n\r\nx\r\n--xyz--',
        ),
        ("application/xml", "<name>x</name>"),
    ],
    ids=["text", "form", "multipart", "xml"],
)
def test_wrong_content_type_gets_415(world: World, route: tuple[str, str], content_type: str, body: str) -> None:
    operation(route)
    error = refused(world.call(route, data=body, headers={"Content-Type": content_type}), 415, "Content-Type")
    assert content_type.split(";")[0] in error["message"]


@pytest.mark.parametrize("route", POST_PUT_PATCH, ids=_id)
def test_oversize_body_gets_413(world: World, route: tuple[str, str]) -> None:
    operation(route)
    body = {**(SPECS[route].body or {}), "rules": "x" * (300 * 1024)}
    refused(world.call(route, json_body=body), 413, "rules")  # the field that made it too large


@pytest.mark.parametrize("route", BODY_ROUTES, ids=_id)
def test_unknown_field_is_named(world: World, route: tuple[str, str]) -> None:
    request_schema(route)
    body = {**(SPECS[route].body or {}), UNKNOWN_FIELD: 1}
    error = refused(world.call(route, json_body=body), 400, UNKNOWN_FIELD)
    assert "unknown field" in error["message"]


@pytest.mark.parametrize("route", POST_PUT_PATCH, ids=_id)
@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_non_finite_numbers_are_refused_naming_their_path(world: World, route: tuple[str, str], literal: str) -> None:
    operation(route)
    spec = json.dumps(SPECS[route].body or {})
    body = spec[:-1] + ("," if spec != "{}" else "") + f'"nested": {{"list": [1, {{"at": {literal}}}]}}}}'
    error = refused(world.call(route, data=body, headers=JSON), 400, "nested.list[1].at")
    assert "finite" in error["message"]


# --- fields: wrong types, out-of-range numbers, too-long strings, patterns (from the schema) -----------
def _wrong_type(options: list[dict[str, Any]]) -> Any:
    """A JSON value none of the alternatives accepts."""
    kinds = {option.get("type", "object" if "properties" in option else None) for option in options}
    if "object" in kinds:
        return 12345 if "string" in kinds else "not-an-object"
    return {"unexpected": "object"}


def _field_cases(schema: dict[str, Any], prefix: tuple[str, ...] = (), depth: int = 0) -> Iterator[tuple]:
    """(path to the field, a bad value, what is wrong) for every property, nested models included."""
    for name, prop in (schema.get("properties") or {}).items():
        path, options = (*prefix, name), members(prop)
        yield path, _wrong_type(options), "wrong type"
        for option in options:
            kind = option.get("type")
            if kind in ("integer", "number"):
                step = 1 if kind == "integer" else 0.5
                if "maximum" in option:
                    yield path, option["maximum"] + step, "above maximum"
                if "minimum" in option:
                    yield path, option["minimum"] - step, "below minimum"
            elif kind == "string":
                if option.get("maxLength", 10**9) < 100_000:
                    yield path, "x" * (option["maxLength"] + 1), "too long"
                if option.get("minLength", 0) > 0:
                    yield path, "", "empty"
                if "pattern" in option:
                    yield path, "Not_Valid!", "pattern"
                    yield path, "a" * 300, "too long for the pattern"
                if "enum" in option:
                    yield path, "not-one-of-them", "not in enum"
            elif kind == "array" and "maxItems" in option:
                item = (option.get("items") or {}).get("enum", ["chat"])[0]
                yield path, [item] * (option["maxItems"] + 1), "too many items"
            elif "properties" in option and depth < 2 and len(options) == 1:
                yield from _field_cases(option, path, depth + 1)


def _nest(path: tuple[str, ...], value: Any) -> dict[str, Any]:
    for name in reversed(path):
        value = {name: value}
    return value  # type: ignore[return-value]


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for name, value in extra.items():
        merged[name] = _merge(merged[name], value) if isinstance(merged.get(name), dict) else value
    return merged


@pytest.mark.parametrize("route", BODY_ROUTES, ids=_id)
def test_every_field_refuses_bad_values_by_name(world: World, route: tuple[str, str]) -> None:
    schema, _ = request_schema(route)
    assert schema is not None
    cases = list(_field_cases(schema))
    assert cases or not schema.get("properties")
    failures = []
    for path, value, what in cases:
        answer = world.call(route, json_body=_merge(SPECS[route].body or {}, _nest(path, value)))
        param = ".".join(path)
        error = answer.json.get("error") if answer.text.startswith("{") else None
        if answer.status != 400 or not error or not (error["param"] or "").startswith(param):
            failures.append(f"{param} ({what}: {json.dumps(value)[:40]}): {answer.status} {answer.text[:200]}")
    assert not failures, "\n".join(failures)


# The acceptance's named cases, spelled out so they read as a specification.
NAMED_CASES = [
    (("POST", "/v1/bots"), {"id": "b", "sampling": {"temperature": 3}}, "sampling.temperature"),
    (("POST", "/v1/bots"), {"id": "b", "sampling": {"top_p": 2}}, "sampling.top_p"),
    (("POST", "/v1/bots"), {"id": "b", "sampling": {"temperature": "warm"}}, "sampling.temperature"),
    (("POST", "/v1/bots"), {"id": "b", "sampling": {"max_tokens": 0}}, "sampling.max_tokens"),
    (("POST", "/v1/bots"), {"id": "b", "sampling": {"frequency_penalty": -2.5}}, "sampling.frequency_penalty"),
    (("POST", "/v1/bots"), {"id": "b", "sampling": {"response_format": "xml"}}, "sampling.response_format"),
    (("POST", "/v1/bots"), {"id": "b", "sampling": {UNKNOWN_FIELD: 1}}, f"sampling.{UNKNOWN_FIELD}"),
    (("POST", "/v1/bots"), {"id": "b", "prompts": {"bad name!": "x"}}, "prompts"),
    (("POST", "/v1/bots"), {"id": "b", "prompts": {"ok": ""}}, "prompts.ok"),
    (("POST", "/v1/bots"), {"id": "b", "moderation": {"thresholds": {"nonsense": 0.5}}}, "moderation.thresholds"),
    (
        ("POST", "/v1/bots"),
        {"id": "b", "instant_answers": [{"questions": [], "answer": "x"}]},
        "instant_answers.0.questions",
    ),
    (("POST", "/v1/bots"), {"id": "b", "deadline_seconds": 60}, "deadline_seconds"),
    (("POST", "/v1/bots"), {"id": "Not_Valid!"}, "id"),
    (("POST", "/v1/bots"), {"id": "a" * 65}, "id"),
    (("POST", "/v1/bots"), {"id": 7}, "id"),
    (("PATCH", "/v1/bots/{bot}"), {"version": 0}, "version"),
    (("PATCH", "/v1/bots/{bot}"), {"version": "one"}, "version"),
    (("POST", "/v1/admin/tenants"), {"name": "x", "retention_days": 0}, "retention_days"),
    (("POST", "/v1/admin/tenants"), {"name": "x", "retention_days": 1.5}, "retention_days"),
    (("POST", "/v1/admin/tenants"), {"name": "x", "knowledge_base_max_chars": 10**12}, "knowledge_base_max_chars"),
    (("POST", "/v1/admin/tenants"), {"name": "   "}, "name"),
    (("POST", "/v1/admin/tenants"), {}, "name"),
    (("POST", "/v1/admin/tenants"), {"name": "x", "id": "t" * 65}, "id"),
    (("POST", "/v1/keys"), {"scopes": ["operator"]}, "scopes.0"),
    (("POST", "/v1/keys"), {"scopes": []}, "scopes"),
    (("POST", "/v1/keys"), {"scopes": "admin"}, "scopes"),
    (("POST", "/v1/keys"), {"allow_query_param": "maybe"}, "allow_query_param"),
    (("PUT", "/v1/credentials/{provider}"), {"api_key": "short"}, "api_key"),
    (("PUT", "/v1/credentials/{provider}"), {"api_key": "sk-with a space"}, "api_key"),
    (("PUT", "/v1/credentials/{provider}"), {"api_key": "sk-valid-0123456789", "base_url": "ftp://x"}, "base_url"),
    (("PUT", "/v1/credentials/{provider}"), {"api_key": "sk-valid-0123456789", "base_url": "not a url"}, "base_url"),
    (("PUT", "/v1/credentials/{provider}"), {}, "api_key"),
]


@pytest.mark.parametrize(("route", "body", "param"), NAMED_CASES, ids=lambda v: v if isinstance(v, str) else None)
def test_named_malformed_bodies(world: World, route: tuple[str, str], body: dict[str, Any], param: str) -> None:
    refused(world.call(route, json_body=body), 400, param)


def test_oversize_knowledge_base_is_refused_against_the_tenant_limit(world: World) -> None:
    for route, body in (
        (("POST", "/v1/bots"), {"id": "big-kb"}),
        (("PUT", "/v1/bots/{bot}"), {"version": 1}),
        (("PATCH", "/v1/bots/{bot}"), {"version": 1}),
    ):
        error = refused(world.call(route, json_body={**body, "knowledge_base": "x" * 10_001}), 400, "knowledge_base")
        assert "10000" in error["message"], error


def test_if_match_that_is_not_an_etag_is_refused(world: World) -> None:
    for route in (("PUT", "/v1/bots/{bot}"), ("PATCH", "/v1/bots/{bot}")):
        refused(world.call(route, json_body={}, headers={"If-Match": "yesterday"}), 400, "If-Match")


# --- odd unicode -----------------------------------------------------------------------------------------
def _raw_json(body: dict[str, Any], field: str, escaped: str) -> str:
    """`body` as JSON with `field` set to a string literal written with JSON escapes (e.g. a lone surrogate)."""
    return json.dumps({**body, field: "\x01placeholder"}).replace('"\\u0001placeholder"', f'"{escaped}"')


@pytest.mark.parametrize("route", _routes(lambda spec: spec.text is not None), ids=_id)
@pytest.mark.parametrize(
    "escaped", [r"a\ud800b", r"\udfff", r"a\u0000b", r"bell\u0007", r"esc\u001b[31m"], ids=lambda e: e[-5:]
)
def test_lone_surrogates_and_control_characters_are_refused(world: World, route: tuple[str, str], escaped: str) -> None:
    request_schema(route)
    spec = SPECS[route]
    assert spec.text is not None
    base = {k: v for k, v in (spec.body or {}).items() if k != spec.text}
    refused(world.call(route, data=_raw_json(base, spec.text, "sk-valid-" + escaped), headers=JSON), 400, spec.text)


@pytest.mark.parametrize("route", _routes(lambda spec: spec.label is not None), ids=_id)
@pytest.mark.parametrize(
    "value",
    ["evil\u202etxt.exe", "\u2066isolated\u2069", "a" + "\u0301" * 10_000, "two\nlines", "x" * 600],
    ids=["rtl-override", "bidi-isolate", "10k-combining-marks", "newline", "long"],
)
def test_labels_refuse_deceptive_text(world: World, route: tuple[str, str], value: str) -> None:
    request_schema(route)
    spec = SPECS[route]
    assert spec.label is not None
    refused(world.call(route, json_body={**(spec.body or {}), spec.label: value}), 400, spec.label)


def test_free_text_keeps_emoji_scripts_and_marks_exactly(world: World) -> None:
    """Odd but legitimate unicode is not malformed: it is stored and returned byte for byte."""
    rules = "Hola 👋🏽 👨‍👩‍👧 — עברית\u200f ، العربية · e\u0301 · \U0001d518\U0001d52b\U0001d526 नमस्ते · 中文\n\tfin"
    body = {"id": "unicode-bot", "name": "Tienda 👗 Ñandú", "rules": rules, "knowledge_base": "Z̴̢a̷l̶g̵o" * 50}
    created = world.call(("POST", "/v1/bots"), json_body=body)
    assert created.status == 201, created.text
    read = world.call(("GET", "/v1/bots/{bot}"), path_values={"bot": "unicode-bot"})
    assert {k: read.json[k] for k in ("name", "rules", "knowledge_base")} == {k: body[k] for k in body if k != "id"}


# --- path and query parameters ---------------------------------------------------------------------------
# The console's files are not operations of the API (left out of the OpenAPI document, like /docs): an unknown
# asset name is a 404 (tests/unit/test_console_assets.py), not a 400 naming a parameter.
STATIC_ROUTES = {("GET", "/console/{asset}")}
PATH_ROUTES = [route for route in CONFIG_ROUTES if "{" in route[1] and route not in STATIC_ROUTES]


@pytest.mark.parametrize("route", PATH_ROUTES, ids=_id)
@pytest.mark.parametrize("bad", ["Not_Valid!", "a" * 300, "-leading-dash", "UPPER", "sp%20ace", "dot.dot"])
def test_bad_path_parameters_are_named(world: World, route: tuple[str, str], bad: str) -> None:
    params = [p for p in operation(route).get("parameters", []) if p["in"] == "path"]
    assert params, f"{route} has path parameters in template.yaml but not in its OpenAPI"
    spec = SPECS[route]
    for param in params:
        kwargs: dict[str, Any] = {"json_body": spec.body} if spec.body is not None else {}
        answer = world.call(route, path_values={param["name"]: bad}, **kwargs)
        refused(answer, 400, param["name"])


@pytest.mark.parametrize("route", PATH_ROUTES, ids=_id)
@pytest.mark.parametrize("bad", ["%00", "%F0%9F%98%80", "%E2%80%AE", "%ED%A0%80"], ids=["nul", "emoji", "rtl", "surr"])
def test_unroutable_path_parameters_get_a_4xx_envelope(world: World, route: tuple[str, str], bad: str) -> None:
    operation(route)
    for name in [p["name"] for p in operation(route).get("parameters", []) if p["in"] == "path"]:
        refused(world.call(route, path_values={name: bad}), (400, 404))


QUERY_CASES = [
    (("GET", "/v1/audit"), {"limit": "abc"}, "limit"),
    (("GET", "/v1/audit"), {"limit": "0"}, "limit"),
    (("GET", "/v1/audit"), {"limit": "100000"}, "limit"),
    (("GET", "/v1/audit"), {"limit": "1.5"}, "limit"),
    (("GET", "/v1/audit"), {"before": "x" * 41}, "before"),
]


@pytest.mark.parametrize(("route", "query", "param"), QUERY_CASES, ids=lambda v: v if isinstance(v, str) else None)
def test_bad_query_parameters_are_named(world: World, route: tuple[str, str], query: dict, param: str) -> None:
    refused(world.call(route, query=query), 400, param)


@pytest.mark.parametrize("route", CONFIG_ROUTES, ids=_id)
def test_every_query_parameter_refuses_bad_values(world: World, route: tuple[str, str]) -> None:
    """From the schema, so a new query parameter is covered too."""
    for param in [p for p in operation(route).get("parameters", []) if p["in"] == "query"]:
        for option in members(param["schema"]):
            bad = ["abc"] if option.get("type") in ("integer", "number") else []
            bad += [str(option[k] + d) for k, d in (("maximum", 1), ("minimum", -1)) if k in option]
            bad += ["x" * (option["maxLength"] + 1)] if "maxLength" in option else []
            for value in bad:
                refused(world.call(route, query={param["name"]: value}), 400, param["name"])


@pytest.mark.parametrize("route", CONFIG_ROUTES, ids=_id)
def test_no_route_answers_5xx_to_junk(world: World, route: tuple[str, str]) -> None:
    """Whatever the route (served yet or not): junk headers, query and body give 2xx or 4xx, never 5xx."""
    # Valid-looking ids of things that do not exist, so a DELETE that gets through destroys nothing.
    absent = {"tenant": "absent-tenant", "bot": "absent-bot", "provider": "absent", "key_id": "key_000000000000"}
    answer = world.call(
        route,
        path_values=absent if route[0] == "DELETE" else None,
        data="\x00\ufffd{",
        headers={"Content-Type": "application/json", "If-Match": "\u202e", "Accept": "*/*;q=bogus"},
        query={"api_key": "junk", "limit": "\u00e9", "x": "\x00"},
    )
    assert answer.status < 500, f"{answer.status} {answer.text[:300]}"
    if answer.status >= 400:
        refused(answer, answer.status)
