"""Logger, Tracer and metrics namespace shared by every function (Powertools singletons)."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Tracer

METRICS_NAMESPACE = "Atende"

logger = Logger(service="atende")
tracer = Tracer(service="atende")
