"""What a callback body may be before anything of it is stored: a size, a depth and values that
every database we run on accepts as they are.

The limits are generous for ThingSpace's callbacks (a few hundred bytes each, CARRIERS.md) and
small enough that nobody can fill the database or the receiver's memory with one request.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from typing import Any

MAX_BODY_BYTES = 1_048_576  # 1 MiB; larger bodies are answered 413 without being read further
MAX_DEPTH = 32  # arrays and objects nested deeper are refused
MAX_ID_CHARS = 64  # carrier_callback.carrier_request_id
MAX_STATUS_CHARS = 20  # carrier_callback.status
MAX_DEVICE_ID_CHARS = 64


class BadCallback(ValueError):
    """A body that is not a callback AMOP can store; the message says what is wrong."""


@dataclass(frozen=True)
class Callback:
    request_id: str
    device_ids: dict[str, str]
    status: str
    body: dict[str, Any]

    @property
    def dedupe_key(self) -> str:
        """Repeated deliveries of one callback share this key; different callbacks never do (the
        fields are encoded as a JSON list, so no value can imitate a separator)."""
        fields = [self.request_id, self.device_ids.get("iccid", ""), self.status]
        return hashlib.sha256(json.dumps(fields).encode()).hexdigest()


def _refuse_constant(name: str) -> float:
    raise BadCallback(f"{name} is not a JSON number")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise BadCallback(f"number {text[:20]} is out of range")
    return value


def parse(raw: bytes) -> dict[str, Any]:
    """The body as JSON: an object, no NaN or Infinity, nested at most MAX_DEPTH deep."""
    if len(raw) > MAX_BODY_BYTES:
        raise BadCallback(f"the body is larger than {MAX_BODY_BYTES} bytes")
    try:
        body = json.loads(raw, parse_constant=_refuse_constant, parse_float=_finite)
    except RecursionError:
        raise BadCallback(f"the body is nested deeper than {MAX_DEPTH} levels") from None
    except (ValueError, UnicodeDecodeError) as error:
        if isinstance(error, BadCallback):
            raise
        raise BadCallback("the body is not JSON") from None
    if not isinstance(body, dict):
        raise BadCallback("the body is not a JSON object")
    _check_values(body)
    return body


def _check_values(body: Any) -> None:
    """Depth and strings, walked without recursion: NUL is refused (PostgreSQL stores no NUL)."""
    stack = [(body, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise BadCallback(f"the body is nested deeper than {MAX_DEPTH} levels")
        if isinstance(value, dict):
            stack.extend((v, depth + 1) for v in value.values())
            stack.extend((k, depth) for k in value)
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value)
        elif isinstance(value, str) and "\x00" in value:
            raise BadCallback("the body holds a NUL character")


def _text(value: object, field: str, limit: int, required: bool = True) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str) or not value.strip():
        raise BadCallback(f"{field} must be a non-empty string")
    if len(value) > limit:
        raise BadCallback(f"{field} is longer than {limit} characters")
    if not value.isprintable():
        raise BadCallback(f"{field} holds control characters")
    return value


def callback(body: dict[str, Any]) -> Callback:
    """The fields AMOP keys on, checked to fit their columns."""
    request_id = _text(body.get("requestId"), "requestId", MAX_ID_CHARS)
    status = _text(body.get("status"), "status", MAX_STATUS_CHARS, required=False)
    devices = body.get("deviceIds", [])
    if not isinstance(devices, list):
        raise BadCallback("deviceIds must be a list")
    device_ids = {}
    for index, entry in enumerate(devices):
        if not isinstance(entry, dict):
            raise BadCallback(f"deviceIds[{index}] must be an object with kind and id")
        kind = _text(entry.get("kind"), f"deviceIds[{index}].kind", MAX_DEVICE_ID_CHARS).lower()
        device_ids[kind] = _text(entry.get("id"), f"deviceIds[{index}].id", MAX_DEVICE_ID_CHARS)
    return Callback(request_id, device_ids, status, body)
