"""A local DynamoDB as strict as the cloud: concurrency, transaction conflicts, tokens, limits, GSI lag, faults."""

from devtools.strict_dynamodb.control import StrictControl
from devtools.strict_dynamodb.middleware import StrictDynamoDB
from devtools.strict_dynamodb.rules import FaultRule, Settings

__all__ = ["FaultRule", "Settings", "StrictControl", "StrictDynamoDB"]
