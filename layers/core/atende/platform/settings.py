"""Runtime configuration: the environment parsed once into one pydantic model."""

from __future__ import annotations

import os
from functools import lru_cache

from pydantic import BaseModel, Field


class Settings(BaseModel):
    """What the template passes every function through environment variables."""

    table_name: str = Field(min_length=1)
    stage: str = "dev"
    root_key_secret_id: str = ""
    credentials_secret_prefix: str = "atende/dev/tenants"
    notifications_topic_arn: str = ""
    limits_topic_arn: str = ""
    rest_api_id_parameter: str = ""
    # At most 25: API Gateway ends a request at 29 s, and the turn is stored after its deadline.
    webhook_deadline_seconds: float = Field(default=8.0, ge=1, le=25)
    auth_cache_ttl_seconds: int = Field(default=60, ge=0, le=3600)
    # Counter shards per tenant and month: each takes ~250 turns/s (4 WCU a turn against DynamoDB's 1,000 WCU/s
    # per item). Changing it mid-month strands what the old shards hold until the month ends: set it once.
    budget_counter_shards: int = Field(default=4, ge=1, le=32)
    # The local stack only (never set by the template): its offline upstream, where a credential without a
    # `base_url`, and a tenant without any credential, are sent, so every tenant created locally can chat offline.
    offline_upstream_url: str = ""
    # Only the local stack sets this (its fake upstream listens on loopback); the template never does.
    allow_loopback_providers: bool = False


_ENV = {
    "table_name": "TABLE_NAME",
    "stage": "STAGE",
    "root_key_secret_id": "ROOT_KEY_SECRET_ID",
    "credentials_secret_prefix": "CREDENTIALS_SECRET_PREFIX",
    "notifications_topic_arn": "NOTIFICATIONS_TOPIC_ARN",
    "limits_topic_arn": "LIMITS_TOPIC_ARN",
    "rest_api_id_parameter": "REST_API_ID_PARAMETER",
    "webhook_deadline_seconds": "WEBHOOK_DEADLINE_SECONDS",
    "auth_cache_ttl_seconds": "AUTH_CACHE_TTL_SECONDS",
    "budget_counter_shards": "BUDGET_COUNTER_SHARDS",
    "offline_upstream_url": "OFFLINE_UPSTREAM_URL",
    "allow_loopback_providers": "ALLOW_LOOPBACK_PROVIDERS",
}


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Read the environment once per container; a missing TABLE_NAME fails here, loudly."""
    values = {field: os.environ[var] for field, var in _ENV.items() if os.environ.get(var) not in (None, "")}
    return Settings.model_validate(values)
