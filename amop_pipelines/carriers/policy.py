"""One HTTP policy for every carrier call: pooling, timeouts, pacing to the account's rate
limit, retries with backoff and jitter that honour Retry-After, and a circuit breaker."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, wait_exponential_jitter

from amop_pipelines.carriers.errors import (
    AuthenticationError,
    CarrierError,
    CircuitOpenError,
    NotFoundError,
    NotSentError,
    PermanentCarrierError,
    RateLimitedError,
    SessionExpiredError,
    TransientCarrierError,
    UncertainOutcomeError,
)

log = logging.getLogger("amop.carriers")
# ThingSpace prefixes its codes with the service that raised them
# (`UnifiedWebService.REQUEST_FAILED.SessionToken.Expired`): match the end.
SESSION_EXPIRED_SUFFIXES = ("SessionToken.Expired", "SessionToken.Invalid")


@dataclass(frozen=True)
class Policy:
    requests_per_second: float = 5.0  # the account's limit; 0 for none
    max_in_flight: int = 1
    timeout_seconds: float = 10.0
    max_attempts: int = 8
    backoff_initial_seconds: float = 0.1
    backoff_max_seconds: float = 10.0
    breaker_failures: int = 25  # consecutive transient failures that open the circuit
    breaker_cooldown_seconds: float = 15.0
    max_connections: int = 10


class Pacer:
    """Spaces calls 1/rate apart across threads, and caps calls in flight."""

    def __init__(self, rate: float, max_in_flight: int):
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self.next_at = 0.0
        self.lock = threading.Lock()
        self.slots = threading.BoundedSemaphore(max_in_flight) if max_in_flight > 0 else None

    def __enter__(self) -> Pacer:
        if self.slots is not None:
            self.slots.acquire()
        with self.lock:
            now = time.monotonic()
            start = max(now, self.next_at)
            self.next_at = start + self.interval
        if start > now:
            time.sleep(start - now)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.slots is not None:
            self.slots.release()


class CircuitBreaker:
    """Opens after `failures` transient failures in a row; half-opens after the cool-down."""

    def __init__(self, failures: int, cooldown: float):
        self.threshold, self.cooldown = failures, cooldown
        self.failures = 0
        self.open_until = 0.0
        self.lock = threading.Lock()

    def check(self, what: str) -> None:
        with self.lock:
            remaining = self.open_until - time.monotonic()
        if remaining > 0:
            error = CircuitOpenError(f"{what}: circuit open after repeated carrier failures")
            error.retry_after = remaining  # type: ignore[attr-defined]
            raise error

    def record(self, ok: bool) -> None:
        with self.lock:
            if ok:
                self.failures = 0
                return
            self.failures += 1
            if self.failures >= self.threshold:
                self.open_until = time.monotonic() + self.cooldown
                self.failures = 0
                log.warning("carrier circuit opened for %.0f s after repeated failures", self.cooldown)


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def _error_code(response: httpx.Response) -> tuple[str | None, str]:
    try:
        body = response.json()
    except ValueError:
        return None, response.reason_phrase
    if isinstance(body, dict):
        return body.get("errorCode") or body.get("error"), str(
            body.get("errorMessage") or body.get("error") or ""
        )
    return None, ""


def classify(what: str, response: httpx.Response) -> CarrierError | None:
    """None for success, else the typed error for this answer."""
    status = response.status_code
    if status < 400:
        return None
    code, message = _error_code(response)
    text = f"{what} answered {status}" + (f" {code}" if code else "") + (f": {message}" if message else "")
    if status == 429:
        return RateLimitedError(text, _retry_after(response), status, code)
    if status >= 500:
        return TransientCarrierError(text, status, code)
    if code and code.endswith(SESSION_EXPIRED_SUFFIXES):
        return SessionExpiredError(text, status, code)
    if status == 401 or status == 403:
        return AuthenticationError(text, status, code)
    if status == 404 or (code and code.endswith("DeviceNotFound")):
        return NotFoundError(text, status, code)
    return PermanentCarrierError(text, status, code)


def _worth_retrying(error: BaseException) -> bool:
    """Transient failures, but not an open circuit (fail fast), an expired session (the
    client logs in again first) or an action whose outcome is unknown (read before resending)."""
    return isinstance(error, TransientCarrierError) and not isinstance(
        error, CircuitOpenError | SessionExpiredError | UncertainOutcomeError
    )


class CarrierHttp:
    """An httpx client under the policy. `request` returns the JSON body or raises a typed error."""

    def __init__(self, base_url: str, policy: Policy, auth: httpx.Auth | None = None):
        self.policy = policy
        self.client = httpx.Client(
            base_url=base_url,
            auth=auth,
            timeout=policy.timeout_seconds,
            limits=httpx.Limits(
                max_connections=policy.max_connections, max_keepalive_connections=policy.max_connections
            ),
        )
        self.pacer = Pacer(policy.requests_per_second, policy.max_in_flight)
        self.breaker = CircuitBreaker(policy.breaker_failures, policy.breaker_cooldown_seconds)
        self.calls = 0
        self.retries = 0

    def close(self) -> None:
        self.client.close()

    def _wait(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        hinted = getattr(error, "retry_after", None)
        if hinted is not None:
            return float(hinted)
        return wait_exponential_jitter(
            multiplier=self.policy.backoff_initial_seconds,
            max=self.policy.backoff_max_seconds,
            jitter=self.policy.backoff_initial_seconds,
        )(state)

    def _before_sleep(self, state: RetryCallState) -> None:
        self.retries += 1
        error = state.outcome.exception() if state.outcome else None
        log.info(
            "%s; retrying in %.2f s (attempt %d of %d)",
            error,
            state.next_action.sleep if state.next_action else 0.0,
            state.attempt_number + 1,
            self.policy.max_attempts,
        )

    def request(
        self,
        method: str,
        path: str,
        *,
        headers: Callable[[], Mapping[str, str]] | None = None,
        idempotent: bool = True,
        **kwargs: Any,
    ) -> Any:
        """The JSON answer. A call that is not `idempotent` is sent again only when the carrier
        cannot have applied it (429, no connection); a timeout or 5xx raises UncertainOutcomeError."""
        what = f"{method} {path}"
        retrying = Retrying(
            retry=retry_if_exception(_worth_retrying),
            stop=stop_after_attempt(self.policy.max_attempts),
            wait=self._wait,
            before_sleep=self._before_sleep,
            reraise=True,
        )
        for attempt in retrying:
            with attempt:
                try:
                    return self._once(what, method, path, headers, kwargs)
                except TransientCarrierError as error:
                    if idempotent or isinstance(error, RateLimitedError | NotSentError | CircuitOpenError):
                        raise
                    if isinstance(error, SessionExpiredError):
                        raise
                    raise UncertainOutcomeError(
                        f"{error}; the carrier may have applied it", error.status, error.code
                    ) from error
        raise AssertionError("unreachable")  # pragma: no cover

    def _once(self, what: str, method: str, path: str, headers, kwargs: dict[str, Any]) -> Any:
        self.breaker.check(what)
        with self.pacer:
            self.calls += 1
            try:
                response = self.client.request(method, path, headers=headers() if headers else None, **kwargs)
            except (httpx.ConnectError, httpx.ConnectTimeout) as error:
                self.breaker.record(False)
                raise NotSentError(
                    f"{what} failed: {error.__class__.__name__}: no connection to {self.client.base_url} "
                    "(check the account's base URL or AMOP_CARRIER_BASE_URL, that the carrier, or the "
                    "simulator `amop simulator serve`, is up and reachable from this host)"
                ) from error
            except httpx.TimeoutException as error:
                self.breaker.record(False)
                raise TransientCarrierError(f"{what} timed out") from error
            except httpx.TransportError as error:
                self.breaker.record(False)
                raise TransientCarrierError(f"{what} failed: {error.__class__.__name__}") from error
        error = classify(what, response)
        if error is not None:
            self.breaker.record(not error.transient or isinstance(error, RateLimitedError))
            raise error
        self.breaker.record(True)
        if not response.content:
            return None
        return response.json()
