"""Model providers: OpenAI clients per credential, retries inside a deadline, the fallback chain, error mapping."""

from __future__ import annotations

import json
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from functools import lru_cache
from typing import Any

import openai

from atende.platform.deadline import Deadline
from atende.platform.errors import (
    AtendeError,
    InvalidRequest,
    RateLimited,
    UpstreamError,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from atende.platform.observability import logger, tracer
from atende.providers import credentials
from atende.providers.endpoints import EndpointRefused, check_base_url

RETRYABLE_STATUS = {408, 409, 429, 500, 502, 503, 504}
MAX_ATTEMPTS_PER_PROVIDER = 3
BACKOFF_BASE_SECONDS = 0.25
MIN_ATTEMPT_SECONDS = 0.5  # not worth starting an attempt with less time than this left
# An attempt's connect (TCP and TLS) and its request's write get these shares of the time left, capped; reading
# the answer gets the rest. A lost SYN costs a second: that attempt fails and the next one connects afresh.
CONNECT_SHARE, MAX_CONNECT_SECONDS = 0.2, 0.5
WRITE_SHARE, MAX_WRITE_SECONDS = 0.1, 0.25
# In logs, anything long enough to be a key or token in a provider's error text is blanked (it may echo the key).
_SECRET_LIKE = re.compile(r"[A-Za-z0-9_\-.~+/=*]{16,}")


@dataclass(frozen=True)
class Target:
    """One place a request can go: a stored credential and a model there."""

    provider: str
    model: str


@dataclass
class ProviderResult:
    body: dict[str, Any]
    provider: str
    model: str
    attempts: int
    upstream_seconds: float
    failures: list[str] = field(default_factory=list)


@lru_cache(maxsize=64)
def _client(api_key: str, base_url: str | None, organization: str | None) -> openai.OpenAI:
    """One client (one connection pool) per credential, reused across warm invocations."""
    return openai.OpenAI(api_key=api_key, base_url=base_url, organization=organization, max_retries=0)


def _credential(tenant_id: str, provider: str, *, force: bool = False) -> credentials.ProviderCredential:
    credential = credentials.get_credential(tenant_id, provider, force=force)
    if credential is None:
        raise UpstreamError(
            f"No '{provider}' credential is configured for this tenant. "
            f"A tenant admin must set it: PUT /v1/credentials/{provider}.",
            code="missing_credential",
        )
    return credential


def call_with_failover[T](
    tenant_id: str,
    targets: list[Target],
    deadline: Deadline,
    request: Callable[[openai.OpenAI, Target, float], T],
) -> tuple[T, Target, int, list[str]]:
    """Run `request` against each target in turn, retrying transient failures with jittered backoff.

    Returns the result, the target that answered, the number of attempts and the failures met on the way.
    Raises the AtendeError that best describes the last failure when every target failed.
    """
    failures: list[str] = []
    last: AtendeError | None = None
    attempts = 0
    for target in targets:
        credential_refreshed = False
        credential = _credential(tenant_id, target.provider)
        for attempt in range(MAX_ATTEMPTS_PER_PROVIDER):
            remaining = deadline.remaining()
            if remaining < MIN_ATTEMPT_SECONDS:
                raise (
                    last
                    if isinstance(last, UpstreamTimeout)
                    else UpstreamTimeout(f"The model provider did not answer within {deadline.seconds:g} s.")
                )
            if credential.base_url:  # again at call time: DNS may answer otherwise than when the URL was stored
                try:
                    check_base_url(credential.base_url)
                except EndpointRefused as refused:
                    logger.warning(
                        "provider base_url refused", extra={"provider": target.provider, "why": str(refused)}
                    )
                    failures.append(f"{target.provider}: base_url refused")
                    last = UpstreamError(
                        f"The '{target.provider}' credential's base_url is not a public https address now. "
                        f"A tenant admin must fix it: PUT /v1/credentials/{target.provider}.",
                        code="base_url_not_allowed",
                    )
                    break
            attempts += 1
            client = _client(credential.api_key, credential.base_url, credential.organization)
            try:
                return request(client, target, remaining), target, attempts, failures
            except openai.AuthenticationError as error:
                failures.append(f"{target.provider}: 401")
                _log_refusal(error, target, credential)
                if not credential_refreshed:  # a rotated key takes effect at once: read the secret again
                    credential_refreshed = True
                    fresh = _credential(tenant_id, target.provider, force=True)
                    if fresh.api_key != credential.api_key:
                        credential = fresh
                        continue
                # The provider's own text is not repeated: OpenAI's names part of the rejected key.
                last = UpstreamError(
                    f"The '{target.provider}' provider rejected the stored API key (401). "
                    f"A tenant admin must update it: PUT /v1/credentials/{target.provider}.",
                    code="provider_auth_failed",
                )
                break
            except openai.APITimeoutError:
                failures.append(f"{target.provider}: timeout")
                last = UpstreamTimeout(f"The model provider did not answer within {deadline.seconds:g} s.")
            except openai.APIConnectionError as error:
                failures.append(f"{target.provider}: connection error")
                logger.warning("provider unreachable", extra={"provider": target.provider, "error": str(error)})
                last = UpstreamUnavailable(f"Could not reach the '{target.provider}' provider.")
            except openai.APIStatusError as error:
                failures.append(f"{target.provider}: {error.status_code}")
                _log_refusal(error, target, credential)
                last = _map_status(error, target)
                if error.status_code not in RETRYABLE_STATUS:
                    if isinstance(last, InvalidRequest):
                        raise last from error
                    break
            if attempt + 1 < MAX_ATTEMPTS_PER_PROVIDER:
                _backoff(attempt, last, deadline)
        logger.warning("provider failed, trying the next", extra={"provider": target.provider, "failures": failures})
    assert last is not None
    raise last


def _backoff(attempt: int, error: AtendeError | None, deadline: Deadline) -> None:
    delay = BACKOFF_BASE_SECONDS * (2**attempt) * random.uniform(0.5, 1.5)  # noqa: S311 — jitter, not crypto
    delay = max(delay, min(retry_after_seconds(error.headers.get("Retry-After") if error else None), 2.0))
    time.sleep(min(delay, max(0.0, deadline.remaining() - MIN_ATTEMPT_SECONDS)))


def attempt_timeout(remaining: float) -> openai.Timeout:
    """The SDK timeout of an attempt that must end within `remaining` seconds.

    The HTTP client times each phase on its own (connect, write, every read), so a plain `remaining` lets a slow
    connect and then a slow answer take up to twice the time left. Here the phases split it: connect and write
    get a capped share, the wait for the answer what is left after them. (The pool timeout never waits here: a
    container makes one call at a time.)"""
    connect = min(MAX_CONNECT_SECONDS, remaining * CONNECT_SHARE)
    write = min(MAX_WRITE_SECONDS, remaining * WRITE_SHARE)
    return openai.Timeout(remaining - connect - write, connect=connect, write=write, pool=write)


def _json_object(text: str) -> dict[str, Any]:
    """The provider's JSON answer; anything but a JSON object is the provider's failure (502), not ours."""
    try:
        body = json.loads(text)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise UpstreamError(
            "The provider answered with something that is not a JSON object.", code="provider_bad_response"
        )
    return body


def retry_after_seconds(value: str | None) -> float:
    """Retry-After as seconds: a number, or an HTTP date; 0 when absent or unreadable."""
    if not value:
        return 0.0
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return 0.0


def _upstream_message(error: openai.APIStatusError) -> str:
    body = error.body if isinstance(error.body, dict) else {}
    inner = body.get("error", body) if isinstance(body, dict) else {}
    message = inner.get("message") if isinstance(inner, dict) else None
    return str(message or error.message)[:300]


def redacted(text: str, credential: credentials.ProviderCredential) -> str:
    """A provider's error text fit for logs: the stored key, and anything shaped like a key or token, blanked."""
    return _SECRET_LIKE.sub("[redacted]", text.replace(credential.api_key, "[redacted]"))


def _log_refusal(error: openai.APIStatusError, target: Target, credential: credentials.ProviderCredential) -> None:
    """The provider's own text goes to the logs only (redacted): callers get Atende's short message."""
    logger.warning(
        "provider refused the request",
        extra={
            "provider": target.provider,
            "status": error.status_code,
            "provider_message": redacted(_upstream_message(error), credential),
        },
    )


def _map_status(error: openai.APIStatusError, target: Target) -> AtendeError:
    """Atende's own short message per status: a provider's text can echo the key or the prompt, so it is never
    relayed (it is logged, redacted, by `_log_refusal`)."""
    status, provider = error.status_code, target.provider
    if status == 429:
        retry_after = error.response.headers.get("retry-after") or "1"
        return RateLimited(
            f"The '{provider}' provider is rate limiting this tenant (429); retry after Retry-After seconds.",
            headers={"Retry-After": retry_after},
        )
    if status in (400, 404, 422):
        return InvalidRequest(
            f"The '{provider}' provider refused the request ({status}): check the model name and the parameters "
            "sent (the provider's own message is in Atende's logs).",
            code="provider_bad_request",
        )
    if status == 403:
        return UpstreamError(
            f"The '{provider}' provider answered 403: check the tenant's credential and its access to the model.",
            code="provider_forbidden",
        )
    return UpstreamUnavailable(f"The '{provider}' provider failed ({status}).")


REASONING_MODEL_PREFIXES = ("o1", "o3", "o4", "gpt-5")


def wire_params(params: dict[str, Any], model: str) -> dict[str, Any]:
    """OpenAI's reasoning models refuse `max_tokens` and want `max_completion_tokens`; others keep `max_tokens`
    (which every OpenAI-compatible server understands). Decided per target: a fallback may be another family."""
    wire = {k: v for k, v in params.items() if k not in ("model", "stream")}
    if model.split("/")[-1].startswith(REASONING_MODEL_PREFIXES) and "max_tokens" in wire:
        wire["max_completion_tokens"] = wire.pop("max_tokens")
    return wire


@tracer.capture_method(capture_response=False)
def chat_completion(
    tenant_id: str, targets: list[Target], params: dict[str, Any], deadline: Deadline
) -> ProviderResult:
    """One chat completion through the failover chain; the provider's JSON comes back untouched."""

    def request(client: openai.OpenAI, target: Target, remaining: float) -> dict[str, Any]:
        raw = client.chat.completions.with_raw_response.create(
            **wire_params(params, target.model), model=target.model, stream=False, timeout=attempt_timeout(remaining)
        )
        return _json_object(raw.text)

    started = time.monotonic()
    body, target, attempts, failures = call_with_failover(tenant_id, targets, deadline, request)
    return ProviderResult(body, target.provider, target.model, attempts, time.monotonic() - started, failures)


@tracer.capture_method(capture_response=False)
def moderation(tenant_id: str, inputs: str | list[Any], model: str, deadline: Deadline) -> ProviderResult:
    """OpenAI moderation through the tenant's `openai` credential."""

    def request(client: openai.OpenAI, target: Target, remaining: float) -> dict[str, Any]:
        raw = client.moderations.with_raw_response.create(
            input=inputs, model=target.model, timeout=attempt_timeout(remaining)
        )
        return _json_object(raw.text)

    started = time.monotonic()
    body, target, attempts, failures = call_with_failover(tenant_id, [Target("openai", model)], deadline, request)
    return ProviderResult(body, target.provider, target.model, attempts, time.monotonic() - started, failures)
