"""Error answers: 404 before 401 before 405; 503 and 500; never a 500.

Bodies (400 for bad JSON, 413, 415) are in test_bodies.py.
"""

import pytest
import redis.exceptions
from sqlalchemy.exc import OperationalError

from tests.api.conftest import assert_error

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


def _allowed(response) -> set[str]:
    return {m.strip() for m in response.headers["allow"].split(",")}


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
        {"goal_status": {"goal-" + "1" * 5000: 3}},
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


def test_wrong_method_on_the_health_check_is_a_405(client):
    assert_error(client.simulate_post("/healthz"), 405)


# 503 and 500 from the database.


def _broken_reading(exc):
    def reading():
        raise exc

    return reading


def test_database_unreachable_is_a_503_with_retry_after(
    monkeypatch, world, alice
):
    assert alice.get("/api/users/me/").status_code == 200
    lost = OperationalError("SELECT 1", {}, Exception("connection refused"))
    monkeypatch.setattr(world.db, "reading", _broken_reading(lost))
    response = alice.get("/api/users/progress/")
    assert_error(response, 503, "database")
    assert int(response.headers["retry-after"]) > 0


def test_unexpected_error_is_a_500_logged_with_its_traceback(
    monkeypatch, caplog, world, alice
):
    assert alice.get("/api/users/me/").status_code == 200
    monkeypatch.setattr(
        world.db, "reading", _broken_reading(RuntimeError("boom"))
    )
    response = alice.get("/api/users/progress/")
    assert_error(response, 500)
    logged = [r for r in caplog.records if r.name == "api.errors"]
    assert logged and logged[-1].exc_info[0] is RuntimeError


def test_a_database_bug_is_a_500_not_a_503(monkeypatch, world, alice):
    assert alice.get("/api/users/me/").status_code == 200
    bug = OperationalError("SELEC 1", {}, Exception("syntax error"))
    monkeypatch.setattr(world.db, "reading", _broken_reading(bug))
    assert_error(alice.get("/api/users/progress/"), 500)
