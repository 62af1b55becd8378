"""Domain exceptions: logic raises these, `atende.web.http` turns them into OpenAI-style error envelopes."""

from __future__ import annotations


class AtendeError(Exception):
    """Base of every error Atende answers with; carries the HTTP status and OpenAI envelope fields."""

    status = 500
    type = "api_error"
    code: str | None = None

    def __init__(
        self,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        if code is not None:
            self.code = code
        self.headers = headers or {}

    def envelope(self) -> dict:
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}


class InvalidRequest(AtendeError):
    status = 400
    type = "invalid_request_error"


class Unauthenticated(AtendeError):
    status = 401
    type = "authentication_error"
    code = "invalid_api_key"


class Forbidden(AtendeError):
    status = 403
    type = "permission_error"
    code = "insufficient_scope"


class NotFound(AtendeError):
    status = 404
    type = "not_found_error"
    code = "not_found"


class Conflict(AtendeError):
    """Optimistic-locking or uniqueness conflict."""

    status = 409
    type = "conflict_error"
    code = "conflict"


class PreconditionFailed(AtendeError):
    status = 412
    type = "conflict_error"
    code = "precondition_failed"


class PreconditionRequired(AtendeError):
    status = 428
    type = "invalid_request_error"
    code = "version_required"


class UnsupportedMediaType(AtendeError):
    status = 415
    type = "invalid_request_error"
    code = "unsupported_media_type"


class PayloadTooLarge(AtendeError):
    status = 413
    type = "invalid_request_error"
    code = "payload_too_large"


class LimitExceeded(AtendeError):
    """A spend, token or request limit refused the call (429, as OpenAI answers an exhausted quota)."""

    status = 429
    type = "insufficient_quota"
    code = "limit_exceeded"


class TenantSuspended(AtendeError):
    status = 403
    type = "permission_error"
    code = "tenant_suspended"


class RateLimited(AtendeError):
    status = 429
    type = "rate_limit_error"
    code = "rate_limit_exceeded"


class UpstreamError(AtendeError):
    """The model provider failed in a way the caller cannot fix (bad gateway)."""

    status = 502
    type = "upstream_error"
    code = "upstream_error"


class UpstreamUnavailable(AtendeError):
    status = 503
    type = "upstream_error"
    code = "upstream_unavailable"


class UpstreamTimeout(AtendeError):
    status = 504
    type = "timeout_error"
    code = "upstream_timeout"


class StoreUnavailable(AtendeError):
    """DynamoDB did not answer in time, or kept refusing (throttling, 5xx), within what the turn had left."""

    status = 503
    type = "server_error"
    code = "store_unavailable"


class DeadlineExceeded(AtendeError):
    """The turn's deadline passed before a call to AWS could start: it is not started at all."""

    status = 504
    type = "timeout_error"
    code = "deadline_exceeded"
