"""What CloudWatch and SNS deliver when a local alarm changes state: the alarm's JSON message and the SNS event
a subscribed function receives."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import Any

from devtools.aws_local import ACCOUNT, REGION


def now_iso(moment: float | None = None) -> str:
    return datetime.fromtimestamp(moment or time.time(), UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000"


def alarm_message(alarm: dict[str, Any], old: str, new: str, reason: str) -> dict[str, Any]:
    """The JSON CloudWatch publishes to an alarm action's topic."""
    trigger: dict[str, Any] = {
        "Period": alarm.get("Period"),
        "EvaluationPeriods": alarm.get("EvaluationPeriods", 1),
        "DatapointsToAlarm": alarm.get("DatapointsToAlarm", 1),
        "ComparisonOperator": alarm["ComparisonOperator"],
        "Threshold": alarm["Threshold"],
        "TreatMissingData": alarm.get("TreatMissingData", "missing"),
        "EvaluateLowSampleCountPercentile": "",
    }
    if alarm.get("Metrics"):
        trigger["Metrics"] = alarm["Metrics"]
    else:
        trigger.update(
            MetricName=alarm["MetricName"],
            Namespace=alarm["Namespace"],
            StatisticType="Statistic",
            Statistic=str(alarm.get("Statistic", "")).upper(),
            Unit=alarm.get("Unit"),
            Dimensions=[{"value": d["Value"], "name": d["Name"]} for d in alarm.get("Dimensions", [])],
        )
    return {
        "AlarmName": alarm["AlarmName"],
        "AlarmDescription": alarm.get("AlarmDescription"),
        "AWSAccountId": ACCOUNT,
        "AlarmConfigurationUpdatedTimestamp": now_iso(),
        "NewStateValue": new,
        "NewStateReason": reason,
        "StateChangeTime": now_iso(),
        "Region": "US East (N. Virginia)",
        "AlarmArn": f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{alarm['AlarmName']}",
        "OldStateValue": old,
        "OKActions": alarm.get("OKActions", []),
        "AlarmActions": alarm.get("AlarmActions", []),
        "InsufficientDataActions": alarm.get("InsufficientDataActions", []),
        "Trigger": trigger,
    }


def sns_event(topic: str, subject: str, message: str) -> dict[str, Any]:
    """The event Lambda receives from an SNS subscription."""
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": f"{topic}:{uuid.uuid4()}",
                "Sns": {
                    "Type": "Notification",
                    "MessageId": str(uuid.uuid4()),
                    "TopicArn": topic,
                    "Subject": subject,
                    "Message": message,
                    "Timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
                    "SignatureVersion": "1",
                    "Signature": "LOCAL",
                    "SigningCertUrl": f"https://sns.{REGION}.amazonaws.com/SimpleNotificationService-local.pem",
                    "UnsubscribeUrl": f"https://sns.{REGION}.amazonaws.com/?Action=Unsubscribe",
                    "MessageAttributes": {},
                },
            }
        ]
    }
