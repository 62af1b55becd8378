"""template.yaml: runtimes, authorizer, routes, table, gateway responses, policies and dashboard, read as data."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from devtools.template import load_template

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
DASHBOARD = ROOT / "infra" / "sam" / "dashboard.json"

# (method, path) -> the function (logical id) that serves it.
ROUTES: dict[tuple[str, str], str] = {
    ("POST", "/v1/chat/completions"): "ChatFunction",
    ("POST", "/v1/bots/{bot}/chat"): "ChatFunction",
    ("GET", "/v1/bots/{bot}/conversations/{conversation}"): "ChatFunction",
    ("DELETE", "/v1/bots/{bot}/conversations/{conversation}"): "ChatFunction",
    ("GET", "/v1/models"): "ChatFunction",
    ("GET", "/v1/models/{model}"): "ChatFunction",
    ("POST", "/v1/moderations"): "ModerateFunction",
    ("POST", "/v1/moderate"): "ModerateFunction",
    ("POST", "/v1/redact"): "ModerateFunction",
    ("GET", "/openapi.json"): "ConfigFunction",
    ("GET", "/docs"): "ConfigFunction",
    ("GET", "/console"): "ConfigFunction",
    ("GET", "/console/{asset}"): "ConfigFunction",
    ("GET", "/v1/admin/tenants"): "ConfigFunction",
    ("POST", "/v1/admin/tenants"): "ConfigFunction",
    ("GET", "/v1/admin/tenants/{tenant}"): "ConfigFunction",
    ("PATCH", "/v1/admin/tenants/{tenant}"): "ConfigFunction",
    ("DELETE", "/v1/admin/tenants/{tenant}"): "ConfigFunction",
    ("POST", "/v1/admin/tenants/{tenant}/suspend"): "ConfigFunction",
    ("POST", "/v1/admin/tenants/{tenant}/resume"): "ConfigFunction",
    ("POST", "/v1/admin/tenants/{tenant}/keys"): "ConfigFunction",
    ("GET", "/v1/admin/tenants/{tenant}/limits"): "ConfigFunction",
    ("PUT", "/v1/admin/tenants/{tenant}/limits"): "ConfigFunction",
    ("GET", "/v1/bots"): "ConfigFunction",
    ("POST", "/v1/bots"): "ConfigFunction",
    ("GET", "/v1/bots/{bot}"): "ConfigFunction",
    ("PUT", "/v1/bots/{bot}"): "ConfigFunction",
    ("PATCH", "/v1/bots/{bot}"): "ConfigFunction",
    ("DELETE", "/v1/bots/{bot}"): "ConfigFunction",
    ("GET", "/v1/keys"): "ConfigFunction",
    ("POST", "/v1/keys"): "ConfigFunction",
    ("DELETE", "/v1/keys/{key_id}"): "ConfigFunction",
    ("GET", "/v1/credentials"): "ConfigFunction",
    ("GET", "/v1/credentials/{provider}"): "ConfigFunction",
    ("PUT", "/v1/credentials/{provider}"): "ConfigFunction",
    ("DELETE", "/v1/credentials/{provider}"): "ConfigFunction",
    ("GET", "/v1/limits"): "ConfigFunction",
    ("PUT", "/v1/limits"): "ConfigFunction",
    ("GET", "/v1/usage"): "ConfigFunction",
    ("GET", "/v1/audit"): "ConfigFunction",
}
PUBLIC_ROUTES = {("GET", "/openapi.json"), ("GET", "/docs"), ("GET", "/console"), ("GET", "/console/{asset}")}
FUNCTIONS = {"AuthorizerFunction", "ChatFunction", "ModerateFunction", "ConfigFunction", "LimitsFunction"}


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template(TEMPLATE)


@pytest.fixture(scope="module")
def resources(template: dict[str, Any]) -> dict[str, Any]:
    return template["Resources"]


def _of_type(resources: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: res for name, res in resources.items() if res["Type"] == kind}


def _effective(template: dict[str, Any], function: str, prop: str) -> Any:
    """A function property as deployed: its own value, else the Globals one."""
    own = template["Resources"][function]["Properties"]
    return own[prop] if prop in own else template["Globals"]["Function"].get(prop)


def _api_events(resources: dict[str, Any]) -> list[tuple[str, str, str, dict[str, Any]]]:
    events = []
    for name, res in _of_type(resources, "AWS::Serverless::Function").items():
        for event in (res["Properties"].get("Events") or {}).values():
            if event["Type"] == "Api":
                props = event["Properties"]
                events.append((props["Method"].upper(), props["Path"], name, props))
    return events


def _statements(function: dict[str, Any]) -> list[dict[str, Any]]:
    statements = []
    for policy in function["Properties"].get("Policies", []):
        if isinstance(policy, dict) and "Statement" in policy:
            statements.extend(policy["Statement"])
    return statements


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _text(value: Any) -> str:
    """A resource ARN as text: plain, or the string inside !Sub."""
    if isinstance(value, dict) and "Fn::Sub" in value:
        sub = value["Fn::Sub"]
        return sub if isinstance(sub, str) else sub[0]
    return json.dumps(value) if isinstance(value, dict) else str(value)


def test_the_five_functions_exist(resources: dict[str, Any]) -> None:
    assert set(_of_type(resources, "AWS::Serverless::Function")) == FUNCTIONS


@pytest.mark.parametrize("function", sorted(FUNCTIONS))
def test_every_function_runs_python313_on_arm64_with_the_core_layer(template: dict[str, Any], function: str) -> None:
    assert _effective(template, function, "Runtime") == "python3.13"
    assert _effective(template, function, "Architectures") == ["arm64"]
    assert _effective(template, function, "Layers") == [{"Ref": "CoreLayer"}]
    assert _effective(template, function, "Handler") == "app.lambda_handler"
    assert _effective(template, function, "Tracing") == {"Ref": "Tracing"}  # PassThrough unless asked
    name = function.removesuffix("Function").lower()
    props = template["Resources"][function]["Properties"]
    assert props["CodeUri"].rstrip("/") == f"functions/{name}"
    assert props["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"] == name


@pytest.mark.parametrize("function", sorted(FUNCTIONS))
def test_every_function_logs_to_its_own_group_kept_for_log_retention_days(
    template: dict[str, Any], function: str
) -> None:
    group = template["Resources"][function]["Properties"]["LoggingConfig"]["LogGroup"]
    resource = template["Resources"][group["Ref"]]
    assert resource["Type"] == "AWS::Logs::LogGroup"
    assert resource["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    assert 30 in template["Parameters"]["LogRetentionDays"]["AllowedValues"]


def test_the_api_compresses_answers_from_one_kilobyte(resources: dict[str, Any]) -> None:
    assert resources["Api"]["Properties"]["MinimumCompressionSize"] == 1024


def test_the_layer_is_built_for_python313_arm64(resources: dict[str, Any]) -> None:
    layer = resources["CoreLayer"]
    assert layer["Type"] == "AWS::Serverless::LayerVersion"
    assert layer["Properties"]["ContentUri"] == "layers/core"
    assert layer["Properties"]["CompatibleRuntimes"] == ["python3.13"]
    assert layer["Properties"]["CompatibleArchitectures"] == ["arm64"]
    # layers/core/Makefile: the dependencies for arm64, the package, and its bytecode (test_packaging.py builds it)
    assert layer["Metadata"] == {"BuildMethod": "makefile", "BuildArchitecture": "arm64"}


def test_shared_environment(template: dict[str, Any]) -> None:
    env = template["Globals"]["Function"]["Environment"]["Variables"]
    assert env["TABLE_NAME"] == {"Ref": "Table"}
    assert env["ROOT_KEY_SECRET_ID"] == {"Ref": "RootKeySecret"}
    assert env["CREDENTIALS_SECRET_PREFIX"] == {"Fn::Sub": "atende/${Stage}/tenants"}
    assert env["POWERTOOLS_METRICS_NAMESPACE"] == "Atende"
    # The REST API id travels through SSM: a reference to the Api here would be a dependency cycle.
    assert env["REST_API_ID_PARAMETER"] == template["Resources"]["RestApiIdParameter"]["Properties"]["Name"]
    assert {"Ref": "Api"} not in env.values()
    for variable in (
        "STAGE",
        "NOTIFICATIONS_TOPIC_ARN",
        "LIMITS_TOPIC_ARN",
        "AUTH_CACHE_TTL_SECONDS",
        "POWERTOOLS_LOG_LEVEL",
        "WEBHOOK_DEADLINE_SECONDS",
    ):
        assert variable in env


def test_authorizer_is_request_type_without_gateway_cache(resources: dict[str, Any]) -> None:
    auth = resources["Api"]["Properties"]["Auth"]
    assert auth["DefaultAuthorizer"] == "KeyAuthorizer"
    authorizer = auth["Authorizers"]["KeyAuthorizer"]
    assert authorizer["FunctionPayloadType"] == "REQUEST"
    assert authorizer["FunctionArn"] == {"Fn::GetAtt": ["AuthorizerFunction", "Arn"]}
    # A key may come from any one of three places, so no identity source can be required.
    assert authorizer["Identity"] == {"ReauthorizeEvery": 0}
    assert resources["Api"]["Properties"]["ApiKeySourceType"] == "AUTHORIZER"
    assert not resources["AuthorizerFunction"]["Properties"].get("Events")


def test_every_route_exists_exactly_once_on_the_right_function(resources: dict[str, Any]) -> None:
    events = _api_events(resources)
    seen = [(method, path) for method, path, _, _ in events]
    duplicates = {route for route in seen if seen.count(route) > 1}
    assert not duplicates
    assert {(method, path): function for method, path, function, _ in events} == ROUTES
    for _, _, _, props in events:
        assert props["RestApiId"] == {"Ref": "Api"}


def test_only_the_docs_the_console_and_the_chat_routes_skip_the_authorizer(resources: dict[str, Any]) -> None:
    for method, path, function, props in _api_events(resources):
        authorizer = (props.get("Auth") or {}).get("Authorizer")
        # The chat function authenticates the key itself: one invocation per turn (test_chat_auth.py).
        if (method, path) in PUBLIC_ROUTES or function == "ChatFunction":
            assert authorizer == "NONE", (method, path)
        else:
            assert authorizer is None, (method, path)  # the Api's DefaultAuthorizer applies


def test_table_keys_index_ttl_backup_and_encryption(resources: dict[str, Any], template: dict[str, Any]) -> None:
    table = resources["Table"]
    assert table["Type"] == "AWS::DynamoDB::Table"
    assert table["DeletionPolicy"] == "Retain"
    assert table["UpdateReplacePolicy"] == "Retain"
    props = table["Properties"]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["KeySchema"] == [
        {"AttributeName": "PK", "KeyType": "HASH"},
        {"AttributeName": "SK", "KeyType": "RANGE"},
    ]
    types = {a["AttributeName"]: a["AttributeType"] for a in props["AttributeDefinitions"]}
    assert types == {"PK": "S", "SK": "S", "GSI1PK": "S", "GSI1SK": "S"}
    (index,) = props["GlobalSecondaryIndexes"]
    assert index["IndexName"] == "GSI1"
    assert index["KeySchema"] == [
        {"AttributeName": "GSI1PK", "KeyType": "HASH"},
        {"AttributeName": "GSI1SK", "KeyType": "RANGE"},
    ]
    assert index["Projection"] == {"ProjectionType": "ALL"}
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["SSESpecification"] == {"SSEEnabled": True}
    assert props["DeletionProtectionEnabled"] == {"Fn::If": ["IsProd", True, False]}
    assert template["Conditions"]["IsProd"] == {"Fn::Equals": [{"Ref": "Stage"}, "prod"]}


def test_root_key_secret(resources: dict[str, Any]) -> None:
    props = resources["RootKeySecret"]["Properties"]
    assert props["Name"] == {"Fn::Sub": "atende/${Stage}/root-key"}
    generated = props["GenerateSecretString"]
    assert json.loads(generated["SecretStringTemplate"]) == {"purpose": "atende-operator-root-key"}
    assert generated["GenerateStringKey"] == "key"
    assert generated["PasswordLength"] == 48
    assert generated["ExcludePunctuation"] is True


def _render(template_text: str) -> dict[str, Any]:
    """A gateway response body as API Gateway would send it (messageString is already a JSON string)."""
    text = template_text.replace("$context.error.messageString", json.dumps("Something went wrong"))
    text = re.sub(r"\$context\.[A-Za-z.]+", "X", text)
    return json.loads(text)


EXPECTED_RESPONSES = {
    "UNAUTHORIZED": (401, "authentication_error", "invalid_api_key"),
    "ACCESS_DENIED": (403, "permission_error", None),
    "THROTTLED": (429, "rate_limit_error", None),
    "QUOTA_EXCEEDED": (429, "rate_limit_error", None),
    "INTEGRATION_TIMEOUT": (504, "timeout_error", "gateway_timeout"),
    "INTEGRATION_FAILURE": (502, "server_error", "integration_failure"),
    "DEFAULT_4XX": (None, "invalid_request_error", None),
    "DEFAULT_5XX": (None, "server_error", None),
}


@pytest.mark.parametrize("kind", sorted(EXPECTED_RESPONSES))
def test_gateway_responses_use_the_openai_error_envelope(resources: dict[str, Any], kind: str) -> None:
    responses = resources["Api"]["Properties"]["GatewayResponses"]
    status, error_type, code = EXPECTED_RESPONSES[kind]
    spec = responses[kind]
    if status is not None:
        assert int(spec["StatusCode"]) == status
    assert spec["ResponseParameters"]["Headers"]["Content-Type"] == "'application/json'"
    body = _render(spec["ResponseTemplates"]["application/json"])
    assert set(body) == {"error"}
    assert set(body["error"]) == {"message", "type", "param", "code"}
    assert body["error"]["type"] == error_type
    assert body["error"]["param"] is None
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert isinstance(body["error"]["code"], str) and body["error"]["code"]
    if code is not None:
        assert body["error"]["code"] == code


def test_every_gateway_response_is_an_openai_envelope(resources: dict[str, Any]) -> None:
    for kind, spec in resources["Api"]["Properties"]["GatewayResponses"].items():
        body = _render(spec["ResponseTemplates"]["application/json"])
        assert set(body["error"]) == {"message", "type", "param", "code"}, kind


@pytest.mark.parametrize("kind", ["INTEGRATION_TIMEOUT", "INTEGRATION_FAILURE", "QUOTA_EXCEEDED"])
def test_answers_a_retry_could_double_are_marked_not_to_be_retried(resources: dict[str, Any], kind: str) -> None:
    # OpenAI SDKs retry 429, 502 and 504 by themselves unless `x-should-retry: false`; a turn that timed out at the
    # gateway may have been stored and billed, so a blind retry would pay for it twice.
    headers = resources["Api"]["Properties"]["GatewayResponses"][kind]["ResponseParameters"]["Headers"]
    assert headers["x-should-retry"] == "'false'"


def test_the_longest_deadline_leaves_room_to_store_the_turn_within_api_gateways_29_s(
    template: dict[str, Any],
) -> None:
    from atende.models.bots import MAX_DEADLINE_SECONDS, Bot, BotCreate
    from atende.platform.settings import Settings

    assert MAX_DEADLINE_SECONDS <= 25
    assert template["Parameters"]["WebhookDeadlineSeconds"]["MaxValue"] == MAX_DEADLINE_SECONDS
    assert Settings.model_fields["webhook_deadline_seconds"].metadata[-1].le == MAX_DEADLINE_SECONDS
    with pytest.raises(ValueError, match="API Gateway ends a request at 29 s"):
        BotCreate.model_validate({"id": "b", "deadline_seconds": 26})
    assert BotCreate.model_validate({"id": "b", "deadline_seconds": 25}).deadline_seconds == 25
    stored = {"id": "b", "version": 1, "created_at": "t", "updated_at": "t", "deadline_seconds": 28}
    assert Bot.model_validate(stored).deadline_seconds == MAX_DEADLINE_SECONDS, "a bot stored with 28 s still loads"


def test_unauthorized_message_tells_how_to_send_the_key(resources: dict[str, Any]) -> None:
    spec = resources["Api"]["Properties"]["GatewayResponses"]["UNAUTHORIZED"]
    message = _render(spec["ResponseTemplates"]["application/json"])["error"]["message"]
    assert "Authorization: Bearer" in message
    assert "x-api-key" in message


def test_config_function_never_gets_secrets_on_every_resource(resources: dict[str, Any]) -> None:
    for statement in _statements(resources["ConfigFunction"]):
        actions = _as_list(statement["Action"])
        if any(action.startswith("secretsmanager:") for action in actions):
            for resource in _as_list(statement["Resource"]):
                text = _text(resource)
                assert text != "*"
                assert text.endswith("secret:atende/${Stage}/tenants/*"), text
        assert "*" not in _as_list(statement["Resource"]), statement


@pytest.mark.parametrize("function", sorted(FUNCTIONS))
def test_no_function_gets_secretsmanager_or_wildcard_actions_on_everything(
    resources: dict[str, Any], function: str
) -> None:
    for statement in _statements(resources[function]):
        for action in _as_list(statement["Action"]):
            assert not action.endswith(":*"), (function, action)
        if any(action.startswith("secretsmanager:") for action in _as_list(statement["Action"])):
            for resource in _as_list(statement["Resource"]):
                text = _text(resource)
                assert text == json.dumps({"Ref": "RootKeySecret"}) or "secret:atende/${Stage}/tenants/" in text


def test_the_config_function_restores_secrets_and_never_lists_them(resources: dict[str, Any]) -> None:
    # ListSecrets cannot be narrowed to a prefix; credentials are listed from the table instead. A secret still
    # scheduled for deletion is restored when its credential is stored again.
    actions = {a for statement in _statements(resources["ConfigFunction"]) for a in _as_list(statement["Action"])}
    assert "secretsmanager:RestoreSecret" in actions
    for function in FUNCTIONS:
        for statement in _statements(resources[function]):
            assert "secretsmanager:ListSecrets" not in _as_list(statement["Action"]), function


def test_only_the_authorizer_reads_the_root_key(resources: dict[str, Any]) -> None:
    readers = {
        name
        for name in FUNCTIONS
        for statement in _statements(resources[name])
        if {"Ref": "RootKeySecret"} in _as_list(statement["Resource"])
    }
    assert readers == {"AuthorizerFunction"}


def test_chat_function_uses_snapstart_on_a_published_alias(resources: dict[str, Any]) -> None:
    props = resources["ChatFunction"]["Properties"]
    assert props["SnapStart"] == {"ApplyOn": "PublishedVersions"}
    assert props["AutoPublishAlias"] == "live"


def test_limits_function_listens_to_the_limits_topic(resources: dict[str, Any]) -> None:
    events = resources["LimitsFunction"]["Properties"]["Events"]
    assert [e["Properties"]["Topic"] for e in events.values() if e["Type"] == "SNS"] == [{"Ref": "LimitsTopic"}]


def test_limits_function_has_reserved_concurrency_and_a_dead_letter_queue(resources: dict[str, Any]) -> None:
    props = resources["LimitsFunction"]["Properties"]
    assert 1 <= props["ReservedConcurrentExecutions"] <= 5
    invoke = props["EventInvokeConfig"]
    assert invoke["MaximumRetryAttempts"] == 2
    on_failure = invoke["DestinationConfig"]["OnFailure"]
    assert on_failure == {"Type": "SQS", "Destination": {"Fn::GetAtt": ["LimitsDeadLetterQueue", "Arn"]}}
    queue = resources["LimitsDeadLetterQueue"]
    assert queue["Type"] == "AWS::SQS::Queue"
    assert queue["Properties"]["MessageRetentionPeriod"] == 14 * 86_400
    assert queue["Properties"]["SqsManagedSseEnabled"] is True
    send = [p["SQSSendMessagePolicy"] for p in props["Policies"] if "SQSSendMessagePolicy" in p]
    assert send == [{"QueueName": {"Fn::GetAtt": ["LimitsDeadLetterQueue", "QueueName"]}}]


def test_global_budget_alarm(resources: dict[str, Any]) -> None:
    props = resources["GlobalDailyBudgetAlarm"]["Properties"]
    assert props["AlarmName"] == {"Fn::Sub": "atende-${Stage}-global-daily-budget"}
    assert props["Threshold"] == {"Ref": "GlobalDailyBudgetUsd"}
    metric = next(m for m in props["Metrics"] if "MetricStat" in m)
    assert metric["MetricStat"]["Metric"]["Namespace"] == "Atende"
    assert metric["MetricStat"]["Metric"]["MetricName"] == "GlobalDayToDateCostMicros"
    assert metric["MetricStat"]["Metric"]["Dimensions"] == [{"Name": "Stage", "Value": {"Ref": "Stage"}}]
    assert metric["MetricStat"]["Stat"] == "Maximum"
    assert metric["MetricStat"]["Period"] == 300
    expression = next(m for m in props["Metrics"] if m.get("ReturnData"))
    assert expression["Expression"].replace(" ", "") == f"{metric['Id']}/1000000"
    assert props["TreatMissingData"] == "breaching", "a sweep that stops reporting must keep every hold"
    assert props["AlarmActions"] == props["OKActions"] == [{"Ref": "LimitsTopic"}]


def test_alarm_email_is_optional(resources: dict[str, Any], template: dict[str, Any]) -> None:
    assert template["Parameters"]["AlarmEmail"]["Default"] == ""
    assert resources["AlarmEmailSubscription"]["Condition"] == "HasAlarmEmail"


def test_dashboard_inline_body_matches_its_source_file(resources: dict[str, Any]) -> None:
    inline = resources["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    assert json.loads(inline) == json.loads(DASHBOARD.read_text(encoding="utf-8")), (
        "template.yaml's DashboardBody differs from infra/sam/dashboard.json: copy the file into the template"
    )


def test_outputs(template: dict[str, Any]) -> None:
    outputs = template["Outputs"]
    assert outputs["ApiUrl"]["Value"] == {
        "Fn::Sub": "https://${Api}.execute-api.${AWS::Region}.${AWS::URLSuffix}/${Stage}"
    }
    assert outputs["OpenAIBaseUrl"]["Value"]["Fn::Sub"].endswith("/${Stage}/v1")
    for name in ("TableName", "NotificationsTopicArn", "LimitsTopicArn", "RootKeySecretArn", "DashboardName"):
        assert name in outputs
