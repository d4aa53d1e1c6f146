"""Typed carrier errors: transient ones are retried, permanent ones never are.

Messages name the operation and the carrier's error code, never a credential or token.
"""

from __future__ import annotations


class CarrierError(Exception):
    """Any failure talking to a carrier."""

    transient = False

    def __init__(self, message: str, status: int | None = None, code: str | None = None):
        super().__init__(message)
        self.status = status
        self.code = code


class TransientCarrierError(CarrierError):
    """Worth retrying: 5xx, timeouts, connection failures."""

    transient = True


class RateLimitedError(TransientCarrierError):
    """429: the carrier asked us to slow down, and how long to wait (Retry-After)."""

    def __init__(self, message: str, retry_after: float | None, status: int = 429, code: str | None = None):
        super().__init__(message, status, code)
        self.retry_after = retry_after


class CircuitOpenError(TransientCarrierError):
    """The carrier kept failing; calls are held back until the circuit's cool-down ends."""


class PermanentCarrierError(CarrierError):
    """Retrying cannot help: a bad request, an unknown device or plan, a broken business rule."""


class NotFoundError(PermanentCarrierError):
    """The carrier does not know the device (or request) named."""


class AuthenticationError(PermanentCarrierError):
    """Credentials refused (401), or the account is locked."""


class SessionExpiredError(TransientCarrierError):
    """ThingSpace's session token went idle: log in again once, then repeat the call."""


class UncertainOutcomeError(TransientCarrierError):
    """An action that is not idempotent timed out or met a 5xx: the carrier may have applied it.
    Never send it again blindly; read the device (and the request's status) first."""


class NotSentError(TransientCarrierError):
    """The call never reached the carrier (no connection): safe to send again."""
