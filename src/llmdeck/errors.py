"""The exception tree. Every error llmdeck raises on purpose is one of these.

    LlmdeckError
    ├── ConfigError              a settings file or value is wrong (CLI exit code 2)
    └── ApiError                 maps to an HTTP status and the OpenAI error body
        ├── BadRequest           400, names the field
        ├── Unauthorized         401
        ├── Forbidden            403
        ├── NotFound             404
        ├── PayloadTooLarge      413
        ├── RateLimited          429, with Retry-After
        └── UpstreamError        502 / 503 / 504, naming the deployments tried

`server/errors.py` is the one place that turns these into responses.
"""

from __future__ import annotations

from dataclasses import dataclass


class LlmdeckError(Exception):
    """Base of every error llmdeck raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a configuration: where (`path`, `line`) and what."""

    path: str
    message: str
    source: str = ""
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}: " if self.source and self.line else ""
        if self.source and not self.line:
            where = f"{self.source}: "
        return f"{where}{self.path}: {self.message}" if self.path else f"{where}{self.message}"


class ConfigError(LlmdeckError):
    """A configuration file or value is invalid; carries every problem found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class ApiError(LlmdeckError):
    """An error with an HTTP status, rendered as `{"error": {"message", "type", "code"}}`."""

    status = 500
    type = "api_error"

    def __init__(self, message: str, *, code: str | None = None, param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.param = param

    def headers(self) -> dict[str, str]:
        """Extra response headers this error needs."""
        return {}


class BadRequest(ApiError):
    """The request is malformed; `param` names the offending field."""

    status = 400
    type = "invalid_request_error"


class Unauthorized(ApiError):
    """No key, or a key that is unknown, revoked or expired."""

    status = 401
    type = "authentication_error"


class Forbidden(ApiError):
    """The key is valid but may not do this."""

    status = 403
    type = "permission_error"


class NotFound(ApiError):
    """Unknown model alias, route or object."""

    status = 404
    type = "not_found_error"


class PayloadTooLarge(ApiError):
    """The request body is over the configured limit."""

    status = 413
    type = "request_too_large"


class RateLimited(ApiError):
    """A rate limit or budget refused the request; `retry_after` is in seconds."""

    status = 429
    type = "rate_limit_error"

    def __init__(self, message: str, *, retry_after: float, code: str = "rate_limited") -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        return {"retry-after": str(max(1, round(self.retry_after + 0.49)))}


class UpstreamError(ApiError):
    """Every deployment tried failed. 502 bad answer, 503 none available, 504 timed out."""

    type = "api_error"

    def __init__(
        self,
        message: str,
        *,
        status: int = 502,
        deployments: tuple[str, ...] = (),
        code: str = "upstream_error",
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, code=code)
        self.status = status
        self.deployments = deployments
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        if self.retry_after is None:
            return {}
        return {"retry-after": str(max(1, round(self.retry_after + 0.49)))}
