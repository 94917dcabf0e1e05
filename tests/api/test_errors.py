"""Error answers: 400, 401, 404, 405, 413, 415 and 503, in SPEC's order."""

import json
from types import SimpleNamespace

import pytest
import redis.exceptions
from falcon import testing

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

# Every endpoint under /api/, with a method it answers.
ENDPOINTS = [
    ("GET", "/api/goals/"),
    ("GET", "/api/actions/"),
    ("GET", "/api/users/me/"),
    ("PATCH", "/api/users/me/"),
    ("GET", "/api/users/goals/"),
    ("POST", "/api/users/goals/"),
    ("DELETE", "/api/users/goals/{goal}/"),
    ("GET", "/api/users/actions/"),
    ("POST", "/api/users/actions/"),
    ("DELETE", "/api/users/actions/{user_action}/"),
    ("POST", "/api/users/actions/{user_action}/complete/"),
    ("GET", "/api/users/customactions/"),
    ("POST", "/api/users/customactions/"),
    ("DELETE", "/api/users/customactions/{custom}/"),
    ("POST", "/api/users/customactions/{custom}/complete/"),
    ("GET", "/api/users/progress/"),
    ("POST", "/api/users/progress/"),
    ("GET", "/api/users/progress/{row}/"),
    ("PUT", "/api/users/progress/{row}/"),
    ("PATCH", "/api/users/progress/{row}/"),
    ("GET", "/api/users/progress/latest/"),
    ("POST", "/api/users/progress/checkin/"),
    ("GET", "/api/users/progress/streaks/"),
]

WRONG_METHODS = [
    ("POST", "/api/users/progress/{row}/"),
    ("DELETE", "/api/users/progress/{row}/"),
    ("DELETE", "/api/users/progress/"),
    ("PUT", "/api/users/progress/"),
    ("POST", "/api/users/progress/latest/"),
    ("GET", "/api/users/progress/checkin/"),
    ("POST", "/api/users/progress/streaks/"),
    ("POST", "/api/goals/"),
    ("DELETE", "/api/actions/"),
    ("PUT", "/api/users/goals/"),
    ("GET", "/api/users/goals/{goal}/"),
    ("GET", "/api/users/actions/{user_action}/"),
    ("GET", "/api/users/actions/{user_action}/complete/"),
    ("DELETE", "/api/users/customactions/{custom}/complete/"),
    ("PATCH", "/api/users/customactions/{custom}/"),
    ("POST", "/api/users/me/"),
    ("PUT", "/api/users/me/"),
    ("DELETE", "/api/users/me/"),
]

UNKNOWN_PATHS = [
    "/",
    "/api/",
    "/api/nothing/",
    "/api/users/",
    "/api/users/progress/abc/",
    "/api/users/progress/0/",
    "/api/users/progress/-1/",
    "/api/users/progress/2147483648/",
    "/api/users/progress/1/extra/",
    "/api/users/goals/x/",
    "/api/users/actions/0/complete/",
    "/api/users/customactions/99999999999999/complete/",
]


@pytest.fixture
def owned(world, alice):
    """One of each of alice's objects, by the names the paths use."""
    goal = world.goal()
    alice.select_goal(goal)
    action = world.action(goal=goal)
    user_action = alice.select_action(action)
    custom = alice.custom_action()
    row = alice.post("/api/users/progress/").json["id"]
    return SimpleNamespace(
        goal=goal,
        action=action,
        user_action=user_action,
        custom=custom,
        row=row,
    )


def _body_case(name, owned):
    method, path, body, status = BODIES[name]
    return method, path.format(**vars(owned)), body(owned), status


def _allowed(response) -> set[str]:
    return {m.strip() for m in response.headers["allow"].split(",")}


def _padded(body: dict, size: int) -> bytes:
    raw = json.dumps(body).encode()
    return raw + b" " * (size - len(raw))


# 400: bodies that are not JSON objects.

MALFORMED = [b'{"a": ', b"{'a': 1}", b"nul", b"\xff{}", b"[" * 60_000]
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


# 401: every endpoint under /api/ needs a token.


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_request_without_token_is_a_401(client, owned, method, path):
    response = client.simulate_request(
        method, path.format(**vars(owned)), json={}
    )
    assert_error(response, 401, "Token")
    assert "Token" in response.headers["www-authenticate"]


@pytest.mark.parametrize(
    "authorization",
    [
        "Token nottherightkey",
        "Token ",
        "Token",
        "Bearer {token}",
        "Basic {token}",
        "{token}",
        "",
    ],
)
@pytest.mark.parametrize(("method", "path"), ENDPOINTS[::4])
def test_bad_token_or_wrong_scheme_is_a_401(
    client, alice, owned, authorization, method, path
):
    response = client.simulate_request(
        method,
        path.format(**vars(owned)),
        headers={"Authorization": authorization.format(token=alice.token)},
    )
    assert_error(response, 401)


def test_health_check_needs_no_token(client):
    response = client.simulate_get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok"}


# 404 before 401 before 405.


@pytest.mark.parametrize("path", UNKNOWN_PATHS)
@pytest.mark.parametrize("method", ["GET", "POST", "DELETE"])
def test_unknown_path_is_a_404_before_authentication(client, method, path):
    response = client.simulate_request(
        method, path, body="x", headers={"Content-Type": "text/plain"}
    )
    assert_error(response, 404)


@pytest.mark.parametrize("path", UNKNOWN_PATHS)
def test_unknown_path_is_a_404_with_a_token_too(alice, path):
    assert_error(alice.get(path), 404)


@pytest.mark.parametrize(("method", "path"), WRONG_METHODS)
def test_wrong_method_is_a_405_after_authentication(
    alice, owned, method, path
):
    response = alice.request(method, path.format(**vars(owned)), json={})
    assert_error(response, 405)
    assert method not in _allowed(response)


@pytest.mark.parametrize(("method", "path"), WRONG_METHODS)
def test_wrong_method_without_token_is_a_401(client, owned, method, path):
    response = client.simulate_request(method, path.format(**vars(owned)))
    assert_error(response, 401)


def test_delete_of_a_progress_row_is_refused_and_keeps_the_row(alice, owned):
    path = f"/api/users/progress/{owned.row}/"
    assert_error(alice.request("DELETE", path), 405)
    assert_error(alice.post(path, json={"actions_completed": 9}), 405)
    kept = alice.get(path)
    assert kept.status_code == 200
    assert kept.json["actions_completed"] == 0


def test_progress_row_allows_get_put_and_patch(alice, owned):
    response = alice.request("POST", f"/api/users/progress/{owned.row}/")
    assert {"GET", "PUT", "PATCH"} <= _allowed(response)
    assert not {"POST", "DELETE"} & _allowed(response)


# 503: the broker is unreachable while a report is queued.


@pytest.mark.parametrize(
    "failure",
    [
        redis.exceptions.ConnectionError("Connection refused"),
        redis.exceptions.TimeoutError("Timeout reading from socket"),
    ],
)
@pytest.mark.parametrize(
    "path",
    [
        "/api/users/actions/{user_action}/complete/",
        "/api/users/customactions/{custom}/complete/",
    ],
)
def test_report_is_a_503_with_retry_after_when_broker_is_down(
    monkeypatch, world, alice, owned, failure, path
):
    def refuse(*args, **kwargs):
        raise failure

    monkeypatch.setattr(world.services.broker, "xadd", refuse)
    response = alice.post(path.format(**vars(owned)), json={})
    assert_error(response, 503, "unavailable")
    assert int(response.headers["retry-after"]) > 0
    monkeypatch.undo()
    assert world.backlog() == 0
    assert world.drain().applied == 0


# No request is answered 500.

ODD_REQUESTS = [
    ("GET", "/api/users/progress/?page=\u00b2", None),
    ("GET", "/api/users/progress/?page=" + "1" * 5000, None),
    ("GET", "/api/users/progress/?page_size=" + "9" * 5000, None),
    ("GET", "/api/goals/?page_size=\u0661", None),
    ("GET", "/api/users/progress/streaks/?days=\u00b3", None),
    ("GET", "/api/users/progress/streaks/?days=" + "7" * 5000, None),
    ("POST", "/api/users/progress/", {"goal_status": {"goal-\u00b2": 3}}),
    ("POST", "/api/users/progress/", {"goal_status": {"goal-\u0663": 3}}),
    (
        "POST",
        "/api/users/progress/",
        {"goal_status": {"goal-" + "1" * 3000: 3}},
    ),
    ("POST", "/api/users/progress/", {"goal_status": {"goal-": 3}}),
    ("POST", "/api/users/progress/", {"goal_status": [["goal-1", 3]]}),
    ("POST", "/api/users/progress/", {"actions_total": 10**30}),
    ("POST", "/api/users/progress/", {"actions_total": float("nan")}),
    ("POST", "/api/users/progress/checkin/", {"goal": 10**30}),
    ("POST", "/api/users/progress/checkin/", {"goal": [], "daily_checkin": 3}),
    ("POST", "/api/users/progress/checkin/", {"daily_checkin": 1e400}),
    ("POST", "/api/users/goals/", {"goal": 10**30}),
    ("POST", "/api/users/goals/", {"goal": {"id": 1}}),
    ("POST", "/api/users/actions/", {"action": -5}),
    ("POST", "/api/users/customactions/", {"title": ["x"]}),
    ("POST", "/api/users/customactions/", {"title": "x" * 10_000}),
    ("POST", "/api/users/actions/{user_action}/complete/", {"state": []}),
    ("POST", "/api/users/actions/{user_action}/complete/", {"state": {}}),
    (
        "POST",
        "/api/users/actions/{user_action}/complete/",
        {"occurred_at": "9999-12-31T23:59:59-01:00"},
    ),
    (
        "POST",
        "/api/users/actions/{user_action}/complete/",
        {"occurred_at": "0001-01-01T00:00:00+01:00"},
    ),
    (
        "POST",
        "/api/users/actions/{user_action}/complete/",
        {"occurred_at": "2020-13-45T00:00:00Z"},
    ),
    (
        "POST",
        "/api/users/customactions/{custom}/complete/",
        {"length": {"minutes": 5}},
    ),
    ("PATCH", "/api/users/me/", {"timezone": "../../../etc/passwd"}),
    ("PATCH", "/api/users/me/", {"timezone": ["UTC"]}),
    ("PATCH", "/api/users/me/", {"timezone": "utc"}),
    ("PUT", "/api/users/progress/{row}/", {"goal_status": None}),
    ("PATCH", "/api/users/progress/{row}/", {"user": 999, "id": "x"}),
]


@pytest.mark.parametrize(("method", "path", "body"), ODD_REQUESTS)
def test_odd_requests_are_never_a_500(alice, owned, method, path, body):
    response = alice.request(
        method, path.format(**vars(owned)), json=body if body else None
    )
    assert response.status_code < 500, response.text


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
