"""Limits function: alarm notifications (SNS) suspend and resume tenants; a schedule sweeps and reports spend."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.data_classes import SNSEvent
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from atende.billing import holds, sweep
from atende.models.limits import AlarmNotification
from atende.platform.observability import logger


@logger.inject_lambda_context(clear_state=True, log_event=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if event.get("source") == "aws.events":  # the Sweep schedule (EventBridge "Scheduled Event")
        return sweep.tick()
    handled = []
    for record in SNSEvent(event).records:
        try:
            note = AlarmNotification.model_validate_json(record.sns.message)
        except ValidationError:
            # Not an alarm (a test publish, say): retrying would not make it one.
            logger.warning("not a CloudWatch alarm message", extra={"message_id": record.sns.message_id})
            continue
        changed = holds.handle_notification(note)
        handled.append({"alarm": note.AlarmName, "state": note.NewStateValue, "tenants": changed})
    return {"handled": handled}
