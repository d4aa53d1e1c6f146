"""The callback receiver under hostile bodies, on SQLite and PostgreSQL: a size limit (413), depth
and value checks (400), a dedupe key no two callbacks share, and an answer that says whether
this request stored anything."""

import httpx
import pytest
import sqlalchemy as sa

from amop_pipelines.changes.callback_body import MAX_BODY_BYTES
from amop_pipelines.changes.callbacks import running_receiver
from amop_pipelines.db.models import CarrierCallback

from .conftest import CALLBACK_USERNAME, SECRET

CREDENTIALS = {"username": CALLBACK_USERNAME, "password": SECRET}


def _callback(request_id="req-1", iccid="8914800000000000017", status="Success", **extra):
    return {"requestId": request_id, "deviceIds": [{"id": iccid, "kind": "iccid"}], "status": status} | extra


@pytest.fixture
def receiver(engine):
    with running_receiver(engine, SECRET, CALLBACK_USERNAME) as url:
        yield url, engine


def _stored(engine) -> list[tuple[str, str]]:
    with engine.connect() as connection:
        return connection.execute(
            sa.select(CarrierCallback.carrier_request_id, CarrierCallback.status).order_by(CarrierCallback.id)
        ).all()


def test_bodies_over_the_limit_are_refused_with_413_and_stored_nowhere(receiver):
    url, engine = receiver
    padding = "x" * (MAX_BODY_BYTES + 1)
    response = httpx.post(url, json=_callback(note=padding) | CREDENTIALS, timeout=30)
    assert response.status_code == 413
    # a body sent in chunks without a declared length is cut off at the limit too
    chunks = (b"x" * 65536 for _ in range(MAX_BODY_BYTES // 65536 + 2))
    assert httpx.post(f"{url}?token={SECRET}", content=chunks, timeout=30).status_code == 413
    assert _stored(engine) == []


@pytest.mark.parametrize(
    "raw",
    [
        b"[" * 50_000 + b"]" * 50_000,  # deeper than the parser's recursion
        b'{"requestId": "r", "a": ' + b"[" * 40 + b"]" * 40 + b"}",  # deeper than the limit
        b'{"requestId": "r", "deviceIds": [], "usage": NaN}',
        b'{"requestId": "r", "deviceIds": [], "usage": 1e400}',
        b'{"requestId": "r\\u0000x", "deviceIds": []}',
        b'{"requestId": "r", "deviceIds": [], "note": "a\\u0000b"}',
        b'{"requestId": "' + b"r" * 65 + b'", "deviceIds": []}',
        b'{"requestId": "r", "status": "' + b"S" * 21 + b'", "deviceIds": []}',
        b'{"requestId": 7, "deviceIds": []}',
        b'{"requestId": "r", "deviceIds": "8914800000000000017"}',
        b'{"requestId": "r", "deviceIds": [{"kind": "iccid", "id": 8914800000000000017}]}',
        b"\xff\xfe not utf-8",
    ],
    ids=[
        "50000-deep",
        "40-deep",
        "NaN",
        "1e400",
        "NUL-in-requestId",
        "NUL-anywhere",
        "requestId-too-long",
        "status-too-long",
        "requestId-not-text",
        "deviceIds-not-list",
        "device-id-not-text",
        "not-utf8",
    ],
)
def test_malformed_bodies_from_an_authenticated_caller_get_400_naming_the_fault(receiver, raw):
    url, engine = receiver
    response = httpx.post(url, content=raw, headers={"X-AMOP-Callback-Secret": SECRET})
    assert response.status_code == 400, response.text
    assert response.json()["error"]
    assert _stored(engine) == []


def test_malformed_bodies_without_credentials_learn_nothing(receiver):
    url, _ = receiver
    response = httpx.post(url, content=b"[" * 50_000)
    assert response.status_code == 401 and response.json() == {"error": "unauthorized"}


def test_callbacks_differing_only_where_a_separator_could_hide_are_both_stored(receiver):
    url, engine = receiver
    first = _callback(request_id="a:b", iccid="c") | CREDENTIALS
    second = _callback(request_id="a", iccid="b:c") | CREDENTIALS
    assert httpx.post(url, json=first).json() == {"stored": True}
    assert httpx.post(url, json=second).json() == {"stored": True}
    assert sorted(request for request, _ in _stored(engine)) == ["a", "a:b"]


def test_a_repeated_callback_answers_stored_false_and_is_kept_once(receiver):
    url, engine = receiver
    body = _callback() | CREDENTIALS
    assert httpx.post(url, json=body).json() == {"stored": True}
    assert httpx.post(url, json=body).json() == {"stored": False}
    assert httpx.post(url, json=body | {"status": "Failure"}).json() == {"stored": True}
    assert _stored(engine) == [("req-1", "Success"), ("req-1", "Failure")]
