"""Each function's IAM role from the SAM-transformed template, created in the embedded moto, with its own keys."""

from __future__ import annotations

import copy
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from devtools.aws_local import REGION, TEMPLATE, Provisioned, Resolver, function_name
from devtools.template import load_template

ADMIN_USER = "atende-local-admin"
ADMIN_POLICY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
LAMBDA_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}
# The AWS managed policies SAM attaches (moto does not ship them): logs and traces only, never data.
MANAGED = {
    "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole": [
        "logs:CreateLogGroup",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
    ],
    "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess": [
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
        "xray:GetSamplingRules",
        "xray:GetSamplingTargets",
        "xray:GetSamplingStatisticSummaries",
    ],
}


@dataclass(frozen=True)
class FunctionRole:
    function: str  # functions/<name>
    role_name: str
    policies: dict[str, dict[str, Any]]  # policy name -> resolved policy document


def sam_transform(parameters: dict[str, str], template: Path = TEMPLATE) -> dict[str, Any]:
    """The CloudFormation SAM makes of the template, offline (code locations stubbed, as `sam package` would)."""
    from samtranslator.translator.transform import transform

    doc = load_template(template)
    for resource in doc["Resources"].values():
        for key in ("CodeUri", "ContentUri"):
            if key in resource.get("Properties", {}):
                resource.setdefault("Metadata", {})["LocalCodeUri"] = resource["Properties"][key]
                resource["Properties"][key] = "s3://atende-local/code.zip"
    logging.getLogger("samtranslator").setLevel(logging.ERROR)  # "Feature … not available in …" warnings

    class _NoManagedPolicies:
        def load(self) -> dict[str, str]:
            return {}

    values = {**parameters, "AWS::Region": REGION}
    return dict(transform(doc, values, _NoManagedPolicies()))


def function_roles(provisioned: Provisioned, template: Path = TEMPLATE) -> list[FunctionRole]:
    """Every function's execution role with its policies resolved against the locally provisioned resources."""
    cfn = sam_transform(provisioned.parameters, template)
    resources: dict[str, Any] = cfn["Resources"]
    resolver = Resolver(provisioned.parameters, provisioned.physical, provisioned.arns)
    stage = provisioned.parameters.get("Stage", "dev")
    roles = []
    for resource in resources.values():
        if resource["Type"] != "AWS::Lambda::Function":
            continue
        name = function_name({"Properties": {"CodeUri": resource["Metadata"]["LocalCodeUri"]}})
        role_logical = resource["Properties"]["Role"]["Fn::GetAtt"][0]
        role = resources[role_logical]["Properties"]
        policies = {
            p["PolicyName"]: {"Version": "2012-10-17", **resolver.resolve(copy.deepcopy(p["PolicyDocument"]))}
            for p in role["Policies"]
        }
        for arn in role.get("ManagedPolicyArns", []):
            actions = MANAGED.get(arn)
            if actions is None:
                raise ValueError(f"{role_logical} attaches {arn}, which the local IAM does not know")
            statement = {"Effect": "Allow", "Action": actions, "Resource": "*"}
            policies[arn.rsplit("/", 1)[-1]] = {"Version": "2012-10-17", "Statement": [statement]}
        roles.append(FunctionRole(name, f"atende-{stage}-{name}", policies))
    return roles


def bootstrap_admin(endpoint: str) -> dict[str, str]:
    """An IAM user allowed everything, for the test process and the local stack itself (provisioning, seeding)."""
    iam = boto3.client(
        "iam",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="bootstrap",
        aws_secret_access_key="bootstrap",
    )
    iam.create_user(UserName=ADMIN_USER)
    iam.put_user_policy(UserName=ADMIN_USER, PolicyName="admin", PolicyDocument=json.dumps(ADMIN_POLICY))
    key = iam.create_access_key(UserName=ADMIN_USER)["AccessKey"]
    return {"AWS_ACCESS_KEY_ID": key["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"]}


def create_roles(roles: list[FunctionRole]) -> dict[str, dict[str, str]]:
    """The roles in moto and, per function, the credentials of a session of its role (what Lambda hands it)."""
    iam, sts = boto3.client("iam"), boto3.client("sts")
    credentials = {}
    for role in roles:
        arn = iam.create_role(RoleName=role.role_name, AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST))["Role"]["Arn"]
        for policy_name, document in role.policies.items():
            iam.put_role_policy(RoleName=role.role_name, PolicyName=policy_name, PolicyDocument=json.dumps(document))
        session = sts.assume_role(RoleArn=arn, RoleSessionName=f"atende-{role.function}", DurationSeconds=43200)
        issued = session["Credentials"]
        credentials[role.function] = {
            "AWS_ACCESS_KEY_ID": issued["AccessKeyId"],
            "AWS_SECRET_ACCESS_KEY": issued["SecretAccessKey"],
            "AWS_SESSION_TOKEN": issued["SessionToken"],
        }
    return credentials
