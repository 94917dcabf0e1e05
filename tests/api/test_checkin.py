"""POST /api/users/progress/checkin/: one goal's check-in on today's row."""

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import pytest
from falcon import testing

from api.app import create_app
from tests.api.conftest import assert_error, today_of

CHECKIN = "/api/users/progress/checkin/"
LATEST = "/api/users/progress/latest/"


@pytest.fixture
def goal(world, alice) -> int:
    goal = world.goal()
    alice.select_goal(goal)
    return goal


def test_check_in_creates_todays_row_and_returns_it(alice, goal):
    response = alice.post(CHECKIN, json={"goal": goal, "daily_checkin": 4})
    assert response.status_code == 200
    row = response.json
    assert row["object_type"] == "dailyprogress"
    assert row["date"] == today_of(alice).isoformat()
    assert row["goal_status"] == {f"goal-{goal}": 4}
    assert row["checkin_streak"] == 1
    assert alice.get(LATEST).json == row


def test_check_in_again_replaces_that_goals_value(alice, goal):
    alice.post(CHECKIN, json={"goal": goal, "daily_checkin": 4})
    again = alice.post(CHECKIN, json={"goal": goal, "daily_checkin": 1})
    assert again.json["goal_status"] == {f"goal-{goal}": 1}
    assert alice.get("/api/users/progress/").json["count"] == 1


def test_check_in_uses_the_existing_row_of_today(alice, goal):
    created = alice.post(
        "/api/users/progress/", json={"actions_completed": 3}
    ).json
    row = alice.post(CHECKIN, json={"goal": goal, "daily_checkin": 2}).json
    assert row["id"] == created["id"]
    assert row["actions_completed"] == 3


def test_check_ins_for_different_goals_are_all_kept(world, alice):
    goals = [world.goal(f"Goal {n}") for n in range(3)]
    for value, goal in enumerate(goals, start=2):
        alice.select_goal(goal)
        alice.post(CHECKIN, json={"goal": goal, "daily_checkin": value})
    assert alice.get(LATEST).json["goal_status"] == {
        f"goal-{goal}": value for value, goal in enumerate(goals, start=2)
    }


def test_concurrent_check_ins_for_different_goals_are_all_kept(world, alice):
    goals = [world.goal(f"Goal {n}") for n in range(8)]
    for goal in goals:
        alice.select_goal(goal)
    barrier = threading.Barrier(len(goals))

    def check_in(goal):
        barrier.wait()
        return alice.post(
            CHECKIN, json={"goal": goal, "daily_checkin": 1 + goal % 5}
        ).status_code

    with ThreadPoolExecutor(len(goals)) as pool:
        assert set(pool.map(check_in, goals)) == {200}
    assert alice.get(LATEST).json["goal_status"] == {
        f"goal-{goal}": 1 + goal % 5 for goal in goals
    }
    assert alice.get("/api/users/progress/").json["count"] == 1


@pytest.mark.parametrize("value", [1, 5])
def test_check_in_accepts_checkin_min_and_max(alice, goal, value):
    response = alice.post(CHECKIN, json={"goal": goal, "daily_checkin": value})
    assert response.status_code == 200
    assert response.json["goal_status"] == {f"goal-{goal}": value}


@pytest.mark.parametrize(
    "value",
    [0, 6, -1, 2147483648, 3.0, 2.5, True, False, "3", None, [3], {"v": 3}],
)
def test_invalid_value_is_a_400_quoting_it_as_json(alice, goal, value):
    response = alice.post(CHECKIN, json={"goal": goal, "daily_checkin": value})
    message = assert_error(response, 400)
    assert message == f"Invalid value: {json.dumps(value)}"
    assert_error(alice.get(LATEST), 404)


def test_missing_value_is_a_400_invalid_value_null(alice, goal):
    response = alice.post(CHECKIN, json={"goal": goal})
    assert assert_error(response, 400) == "Invalid value: null"


def test_value_is_checked_before_the_goal(alice):
    response = alice.post(CHECKIN, json={"goal": 999, "daily_checkin": 9})
    assert assert_error(response, 400) == "Invalid value: 9"


def test_goal_not_selected_is_a_400(world, alice, goal):
    other = world.goal("Not mine")
    response = alice.post(CHECKIN, json={"goal": other, "daily_checkin": 3})
    message = assert_error(response, 400)
    assert message == f"User has no goal with id: {other}"
    assert_error(alice.get(LATEST), 404)


def test_unknown_goal_is_a_400(alice, goal):
    response = alice.post(CHECKIN, json={"goal": 777, "daily_checkin": 3})
    assert assert_error(response, 400) == "User has no goal with id: 777"


def test_goal_unselected_afterwards_is_a_400(alice, goal):
    alice.request("DELETE", f"/api/users/goals/{goal}/")
    response = alice.post(CHECKIN, json={"goal": goal, "daily_checkin": 3})
    assert assert_error(response, 400) == f"User has no goal with id: {goal}"


@pytest.mark.parametrize("goal_id", [None, "1", 1.0, True, 0, -4, [1]])
def test_goal_that_is_not_an_id_is_a_400(alice, goal, goal_id):
    body = {"daily_checkin": 3}
    if goal_id is not None:
        body["goal"] = goal_id
    response = alice.post(CHECKIN, json=body)
    message = assert_error(response, 400)
    assert message.startswith("User has no goal with id: ")


def test_check_in_keeps_another_users_row_alone(world, alice, bob, goal):
    bob.select_goal(goal)
    bob.post(CHECKIN, json={"goal": goal, "daily_checkin": 5})
    alice.post(CHECKIN, json={"goal": goal, "daily_checkin": 1})
    assert bob.get(LATEST).json["goal_status"] == {f"goal-{goal}": 5}
    assert alice.get(LATEST).json["goal_status"] == {f"goal-{goal}": 1}


def test_check_in_bounds_follow_the_settings(world, alice, goal):
    settings = replace(world.services.settings, checkin_min=0, checkin_max=9)
    services = replace(world.services, settings=settings)
    client = testing.TestClient(create_app(settings, services))

    def check_in(value):
        return client.simulate_post(
            CHECKIN,
            headers=alice.headers,
            json={"goal": goal, "daily_checkin": value},
        )

    assert check_in(0).status_code == 200
    assert check_in(9).json["goal_status"] == {f"goal-{goal}": 9}
    assert assert_error(check_in(10), 400) == "Invalid value: 10"
