"""Request bodies: 400 for bad JSON, 415, 413, and what is accepted."""

import io
import json

import pytest
from falcon import testing
from gunicorn.http.errors import (
    ChunkMissingTerminator,
    InvalidChunkSize,
    NoMoreData,
)

from api.body import LIMIT
from tests.api.conftest import assert_error

# Every endpoint that reads a body: a valid body, and what it answers.
BODIES = {
    "progress-post": (
        "POST",
        "/api/users/progress/",
        lambda o: {"actions_completed": 1},
        200,
    ),
    "progress-put": (
        "PUT",
        "/api/users/progress/{row}/",
        lambda o: {"actions_completed": 1},
        200,
    ),
    "progress-patch": (
        "PATCH",
        "/api/users/progress/{row}/",
        lambda o: {"actions_completed": 1},
        200,
    ),
    "checkin": (
        "POST",
        "/api/users/progress/checkin/",
        lambda o: {"goal": o.goal, "daily_checkin": 3},
        200,
    ),
    "goals": ("POST", "/api/users/goals/", lambda o: {"goal": o.goal}, 200),
    "actions": (
        "POST",
        "/api/users/actions/",
        lambda o: {"action": o.action},
        200,
    ),
    "customactions": (
        "POST",
        "/api/users/customactions/",
        lambda o: {"title": "Read"},
        201,
    ),
    "action-report": (
        "POST",
        "/api/users/actions/{user_action}/complete/",
        lambda o: {"state": "snoozed"},
        202,
    ),
    "customaction-report": (
        "POST",
        "/api/users/customactions/{custom}/complete/",
        lambda o: {"state": "snoozed"},
        202,
    ),
    "me": (
        "PATCH",
        "/api/users/me/",
        lambda o: {"timezone": "Europe/Berlin"},
        200,
    ),
}


def _body_case(name, owned):
    method, path, body, status = BODIES[name]
    return method, path.format(**vars(owned)), body(owned), status


def _padded(body: dict, size: int) -> bytes:
    raw = json.dumps(body).encode()
    return raw + b" " * (size - len(raw))


# 400: bodies that are not JSON objects.

MALFORMED = [
    b'{"a": ',
    b"{'a': 1}",
    b"nul",
    b"\xff{}",
    b'{"x": Infinity}',
    b'{"x": -Infinity}',
    b'{"x": NaN}',
]
NOT_OBJECTS = ["[1]", '"text"', "3", "null", "true"]
NOT_JSON_TYPES = [
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "application/xml",
    "application/jsonx",
]
JSON_TYPES = ["application/json; charset=utf-8", "Application/JSON", None]


@pytest.mark.parametrize("name", BODIES)
def test_malformed_or_deeply_nested_json_is_a_400(alice, owned, name):
    method, path, _, _ = _body_case(name, owned)
    for raw in MALFORMED:
        response = alice.request(method, path, body=raw)
        assert_error(response, 400, "not valid JSON")
    deep = alice.request(method, path, body=b"[" * 60_000)
    assert_error(deep, 400, "nested too deeply")


@pytest.mark.parametrize("name", BODIES)
def test_json_that_is_not_an_object_is_a_400(alice, owned, name):
    method, path, _, _ = _body_case(name, owned)
    for raw in NOT_OBJECTS:
        assert_error(alice.request(method, path, body=raw), 400, "body")


@pytest.mark.parametrize("name", BODIES)
def test_string_with_lone_surrogate_or_nul_is_a_400(alice, owned, name):
    method, path, body, _ = _body_case(name, owned)
    for text in ("\\ud800", "a\\u0000b"):
        raw = json.dumps(body)[:-1] + f', "z": "{text}"}}'
        assert_error(alice.request(method, path, body=raw), 400, "body")


# 415 and the JSON media types that are accepted.


@pytest.mark.parametrize("name", BODIES)
def test_non_json_content_type_is_a_415(alice, owned, name):
    method, path, body, _ = _body_case(name, owned)
    for content_type in NOT_JSON_TYPES:
        response = alice.request(
            method,
            path,
            body=json.dumps(body),
            headers={"Content-Type": content_type},
        )
        assert_error(response, 415, "Content-Type")


@pytest.mark.parametrize("name", BODIES)
def test_json_content_type_with_charset_or_none_is_accepted(
    alice, owned, name
):
    method, path, body, status = _body_case(name, owned)
    for content_type in JSON_TYPES:
        headers = {"Content-Type": content_type} if content_type else {}
        response = alice.request(
            method, path, body=json.dumps(body), headers=headers
        )
        assert response.status_code == status, (content_type, response.text)


def test_request_without_content_type_is_read_as_json(alice, owned):
    response = alice.post(
        f"/api/users/actions/{owned.user_action}/complete/",
        body='{"state": "dismissed"}',
    )
    assert response.status_code == 202
    assert response.json["state"] == "dismissed"


# 413: bodies over 64 KiB, refused before they are parsed.


@pytest.mark.parametrize("name", BODIES)
def test_body_over_64_kib_is_a_413_before_parsing(alice, owned, name):
    method, path, _, _ = _body_case(name, owned)
    response = alice.request(method, path, body=b"{" + b" " * LIMIT)
    assert_error(response, 413, "64 KiB")


@pytest.mark.parametrize("name", BODIES)
def test_body_of_exactly_64_kib_is_accepted(alice, owned, name):
    method, path, body, status = _body_case(name, owned)
    response = alice.request(method, path, body=_padded(body, LIMIT))
    assert response.status_code == status, response.text


def test_declared_content_length_over_64_kib_is_a_413(alice, owned):
    response = alice.post(
        "/api/users/progress/",
        body=b"{}",
        headers={"Content-Length": str(LIMIT + 1)},
    )
    assert_error(response, 413)


def _call(client, environ):
    """Call the app with a hand-made environ; (status, JSON body)."""
    start = testing.StartResponseMock()
    content = b"".join(client.app(environ, start))
    return start.status, json.loads(content)


def _without_content_length(client, user, path, body: bytes):
    """POST a body as a chunked request: no Content-Length header."""
    environ = testing.create_environ(
        method="POST", path=path, headers=user.headers, body=body
    )
    del environ["CONTENT_LENGTH"]
    environ["wsgi.input_terminated"] = True
    return _call(client, environ)


def test_body_over_64_kib_without_content_length_is_a_413(
    client, world, alice, owned
):
    path = f"/api/users/actions/{owned.user_action}/complete/"
    body = _padded({"state": "dismissed"}, LIMIT + 1)
    status, content = _without_content_length(client, alice, path, body)
    assert status.startswith("413")
    assert "64 KiB" in content["error"]
    assert world.backlog() == 0


def test_body_without_content_length_is_read_to_its_end(client, alice, owned):
    path = f"/api/users/actions/{owned.user_action}/complete/"
    body = _padded({"state": "dismissed"}, LIMIT)
    status, content = _without_content_length(client, alice, path, body)
    assert status.startswith("202")
    assert content["state"] == "dismissed"


def test_invalid_content_length_is_a_400(client, alice):
    environ = testing.create_environ(
        method="POST",
        path="/api/users/progress/",
        headers=alice.headers,
        body=b"{}",
    )
    environ["CONTENT_LENGTH"] = "x"
    status, content = _call(client, environ)
    assert status.startswith("400")
    assert "Content-Length" in content["error"]


def test_a_body_shorter_than_its_content_length_is_a_400(world, alice):
    target = alice.select_action(world.action())
    response = alice.post(
        f"/api/users/actions/{target}/complete/",
        body='{"state": "snoozed"}',
        headers={"Content-Type": "application/json", "Content-Length": "35"},
    )
    assert response.status_code == 400
    assert "Content-Length" in response.json["error"]
    assert world.backlog() == 0


class _Broken(io.RawIOBase):
    """A request body whose reader fails as gunicorn's does."""

    def __init__(self, error: Exception):
        self._error = error

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        raise self._error


@pytest.mark.parametrize(
    "error",
    [
        InvalidChunkSize(b"ZZ"),
        ChunkMissingTerminator(b"xx"),
        NoMoreData(b'{"state":"comp'),
        ConnectionResetError(104, "reset"),
    ],
    ids=type,
)
def test_a_body_that_cannot_be_read_is_a_400_and_queues_nothing(
    client, world, alice, owned, error
):
    path = f"/api/users/actions/{owned.user_action}/complete/"
    environ = testing.create_environ(
        method="POST", path=path, headers=alice.headers, body=b""
    )
    environ.pop("CONTENT_LENGTH", None)
    environ["wsgi.input_terminated"] = True
    environ["wsgi.input"] = io.BufferedReader(_Broken(error))
    status, content = _call(client, environ)
    assert status.startswith("400")
    assert content["error"] == "body: could not be read to its end"
    assert world.backlog() == 0


@pytest.mark.parametrize("content_type", ["", ";;;", "text/plain"])
def test_a_content_type_present_but_not_json_is_a_415(
    client, world, alice, owned, content_type
):
    response = alice.post(
        f"/api/users/actions/{owned.user_action}/complete/",
        body='{"state": "snoozed"}',
        headers={"Content-Type": content_type},
    )
    assert_error(response, 415)
    assert world.backlog() == 0
