"""A user can never read or change another user's data.

Every endpoint that takes an id is tried by bob on alice's object: each
answers 404, and everything alice can see stays as it was.
"""

from types import SimpleNamespace

import pytest

from tests.api.conftest import assert_error, days_ago

# (method, path, body) with placeholders for alice's objects.
BY_ID = [
    ("GET", "/api/users/progress/{row}/", None),
    ("PUT", "/api/users/progress/{row}/", {"actions_completed": 9}),
    ("PATCH", "/api/users/progress/{row}/", {"goal_status": {}}),
    ("PUT", "/api/users/progress/{past}/", {"actions_snoozed": 9}),
    ("DELETE", "/api/users/goals/{goal}/", None),
    ("DELETE", "/api/users/actions/{user_action}/", None),
    ("DELETE", "/api/users/customactions/{custom}/", None),
    ("POST", "/api/users/actions/{user_action}/complete/", None),
    (
        "POST",
        "/api/users/actions/{user_action}/complete/",
        {"state": "dismissed"},
    ),
    ("POST", "/api/users/customactions/{custom}/complete/", None),
]

# Everything alice can see.
VIEWS = [
    "/api/users/me/",
    "/api/users/progress/",
    "/api/users/progress/latest/",
    "/api/users/progress/streaks/",
    "/api/users/goals/",
    "/api/users/actions/",
    "/api/users/customactions/",
]


@pytest.fixture
def seeded(world, alice, rows):
    """Alice's objects, with a check-in and an applied report."""
    goal = world.goal()
    alice.select_goal(goal)
    user_action = alice.select_action(world.action())
    custom = alice.custom_action()
    past = rows.add(alice, days_ago(alice, 1), actions_completed=2)
    alice.post(
        "/api/users/progress/checkin/", json={"goal": goal, "daily_checkin": 4}
    )
    alice.post(f"/api/users/actions/{user_action}/complete/")
    world.drain()
    row = rows.latest(alice)["id"]
    return SimpleNamespace(
        goal=goal, user_action=user_action, custom=custom, row=row, past=past
    )


def _snapshot(user) -> dict:
    return {path: user.get(path).json for path in VIEWS}


@pytest.mark.parametrize(("method", "path", "body"), BY_ID)
def test_other_users_object_is_a_404_and_stays_unchanged(
    world, alice, bob, seeded, method, path, body
):
    before = _snapshot(alice)
    response = bob.request(method, path.format(**vars(seeded)), json=body)
    assert_error(response, 404)
    assert world.backlog() == 0
    world.drain()
    assert _snapshot(alice) == before


@pytest.mark.parametrize(("method", "path", "body"), BY_ID)
def test_owner_can_use_the_same_request(
    world, alice, seeded, method, path, body
):
    response = alice.request(method, path.format(**vars(seeded)), json=body)
    assert response.status_code in {200, 202, 204}, response.text


def test_other_users_lists_and_latest_show_nothing_of_theirs(
    alice, bob, seeded
):
    for path in VIEWS[1:2] + VIEWS[4:]:
        assert bob.get(path).json["count"] == 0, path
    assert_error(bob.get("/api/users/progress/latest/"), 404)
    streaks = bob.get("/api/users/progress/streaks/").json
    assert streaks["current_streak"] == 0
    assert all(day["count"] == 0 for day in streaks["results"])
    assert bob.get("/api/users/me/").json["id"] == bob.id


def test_check_in_on_another_users_goal_is_refused(world, alice, bob, seeded):
    before = _snapshot(alice)
    response = bob.post(
        "/api/users/progress/checkin/",
        json={"goal": seeded.goal, "daily_checkin": 1},
    )
    assert_error(response, 400, f"User has no goal with id: {seeded.goal}")
    assert _snapshot(alice) == before


def test_own_writes_never_reach_another_users_rows(world, alice, bob, seeded):
    before = _snapshot(alice)
    bob.post("/api/users/progress/", json={"actions_completed": 5})
    bob.select_goal(seeded.goal)
    bob.post(
        "/api/users/progress/checkin/",
        json={"goal": seeded.goal, "daily_checkin": 1},
    )
    bob.request("DELETE", f"/api/users/goals/{seeded.goal}/")
    bob.request("PATCH", "/api/users/me/", json={"timezone": "Asia/Tokyo"})
    assert _snapshot(alice) == before
