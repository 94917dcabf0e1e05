"""The caller's goals, actions and custom actions, and today's totals."""

import re

import pytest
from sqlalchemy import delete

from core.models import DailyProgress
from tests.api.conftest import assert_error, days_ago, today_of

GOALS = "/api/users/goals/"
ACTIONS = "/api/users/actions/"
CUSTOM = "/api/users/customactions/"
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


def _totals(rows, user) -> tuple[int, int]:
    row = rows.latest(user)
    assert row["date"] == today_of(user).isoformat()
    return row["actions_total"], row["customactions_total"]


# Goals.


def test_goal_list_is_empty_for_a_new_user(alice):
    assert alice.get(GOALS).json == {
        "count": 0,
        "next": None,
        "previous": None,
        "results": [],
    }


def test_selecting_a_goal_is_201_then_200_with_the_same_user_goal(
    world, alice
):
    goal = world.goal()
    first = alice.post(GOALS, json={"goal": goal})
    assert first.status_code == 201
    assert set(first.json) == {"id", "goal", "created_on"}
    assert first.json["goal"] == goal
    assert TIMESTAMP.match(first.json["created_on"])

    again = alice.post(GOALS, json={"goal": goal})
    assert again.status_code == 200
    assert again.json == first.json
    assert alice.get(GOALS).json["results"] == [first.json]


def test_selecting_an_unknown_goal_is_a_400(alice):
    assert_error(alice.post(GOALS, json={"goal": 404}), 400, "goal")
    assert alice.get(GOALS).json["count"] == 0


@pytest.mark.parametrize(
    "body", [{}, {"goal": "1"}, {"goal": True}, {"goal": 1.0}, {"goal": 0}]
)
def test_selecting_a_goal_without_an_integer_id_is_a_400(world, alice, body):
    world.goal()
    assert_error(alice.post(GOALS, json=body), 400, "goal")


def test_unselecting_a_goal_is_204_then_404(world, alice):
    goal = world.goal()
    alice.select_goal(goal)
    gone = alice.request("DELETE", f"{GOALS}{goal}/")
    assert gone.status_code == 204
    assert gone.text == ""
    assert alice.get(GOALS).json["count"] == 0
    assert_error(alice.request("DELETE", f"{GOALS}{goal}/"), 404)


def test_unselecting_a_goal_never_selected_is_a_404(world, alice):
    assert_error(alice.request("DELETE", f"{GOALS}{world.goal()}/"), 404)


def test_goals_do_not_change_the_action_totals(world, alice, rows):
    alice.post("/api/users/progress/")
    alice.post(GOALS, json={"goal": world.goal()})
    assert _totals(rows, alice) == (0, 0)


# Actions.


def test_selecting_an_action_is_201_with_the_user_action(world, alice):
    action = world.action()
    response = alice.post(ACTIONS, json={"action": action})
    assert response.status_code == 201
    assert set(response.json) == {"id", "action", "created_on"}
    assert response.json["action"] == action
    assert alice.get(ACTIONS).json["results"] == [response.json]


def test_selecting_an_action_again_is_200_with_the_existing_one(world, alice):
    action = world.action()
    first = alice.post(ACTIONS, json={"action": action}).json
    again = alice.post(ACTIONS, json={"action": action})
    assert again.status_code == 200
    assert again.json == first
    assert alice.get(ACTIONS).json["count"] == 1


@pytest.mark.parametrize(
    "body", [{}, {"action": 999}, {"action": "1"}, {"action": False}]
)
def test_selecting_an_unknown_or_bad_action_is_a_400(world, alice, body):
    world.action()
    assert_error(alice.post(ACTIONS, json=body), 400, "action")
    assert alice.get(ACTIONS).json["count"] == 0


def test_unselecting_an_action_is_204_then_404(world, alice):
    user_action = alice.select_action(world.action())
    gone = alice.request("DELETE", f"{ACTIONS}{user_action}/")
    assert gone.status_code == 204
    assert alice.get(ACTIONS).json["count"] == 0
    assert_error(alice.request("DELETE", f"{ACTIONS}{user_action}/"), 404)


def test_unselect_takes_the_user_action_id_not_the_action_id(world, alice):
    world.action("Unrelated")
    action = world.action()
    user_action = alice.post(ACTIONS, json={"action": action}).json["id"]
    assert user_action != action
    assert_error(alice.request("DELETE", f"{ACTIONS}{action}/"), 404)
    response = alice.request("DELETE", f"{ACTIONS}{user_action}/")
    assert response.status_code == 204


# Custom actions.


@pytest.mark.parametrize("title", ["x", "Drink water", "é" * 256, "a" * 256])
def test_creating_a_custom_action_is_201(alice, title):
    response = alice.post(CUSTOM, json={"title": title})
    assert response.status_code == 201
    assert set(response.json) == {"id", "title", "created_on"}
    assert response.json["title"] == title
    assert alice.get(CUSTOM).json["results"] == [response.json]


@pytest.mark.parametrize(
    "body",
    [{}, {"title": ""}, {"title": "a" * 257}, {"title": 5}, {"title": None}],
)
def test_custom_action_title_must_be_1_to_256_characters(alice, body):
    assert_error(alice.post(CUSTOM, json=body), 400, "title")
    assert alice.get(CUSTOM).json["count"] == 0


def test_deleting_a_custom_action_is_204_then_404(alice):
    custom = alice.custom_action()
    response = alice.request("DELETE", f"{CUSTOM}{custom}/")
    assert response.status_code == 204
    assert alice.get(CUSTOM).json["count"] == 0
    assert_error(alice.request("DELETE", f"{CUSTOM}{custom}/"), 404)


def test_lists_are_newest_first(world, alice):
    made = [
        alice.post(CUSTOM, json={"title": f"Custom {n}"}).json["id"]
        for n in range(3)
    ]
    listed = [item["id"] for item in alice.get(CUSTOM).json["results"]]
    assert listed == made[::-1]


# Today's totals follow the selections.


def test_todays_totals_follow_selections_and_deletions(world, alice, rows):
    walk = alice.post(ACTIONS, json={"action": world.action("Walk")})
    assert _totals(rows, alice) == (1, 0)
    alice.post(ACTIONS, json={"action": world.action("Run")})
    assert _totals(rows, alice) == (2, 0)

    custom = alice.post(CUSTOM, json={"title": "Stretch"}).json["id"]
    assert _totals(rows, alice) == (2, 1)

    alice.request("DELETE", f"{ACTIONS}{walk.json['id']}/")
    assert _totals(rows, alice) == (1, 1)
    alice.request("DELETE", f"{CUSTOM}{custom}/")
    assert _totals(rows, alice) == (1, 0)


def test_selecting_an_action_again_keeps_the_totals(world, alice, rows):
    action = world.action()
    alice.post(ACTIONS, json={"action": action})
    alice.post(ACTIONS, json={"action": action})
    assert _totals(rows, alice) == (1, 0)


def test_past_rows_keep_the_totals_they_had(world, alice, rows):
    past = rows.add(
        alice, days_ago(alice, 1), actions_total=7, customactions_total=3
    )
    alice.post(ACTIONS, json={"action": world.action()})
    alice.post(CUSTOM, json={"title": "Stretch"})
    row = alice.get(f"/api/users/progress/{past}/").json
    assert (row["actions_total"], row["customactions_total"]) == (7, 3)
    assert _totals(rows, alice) == (1, 1)


def test_a_new_days_row_starts_from_the_current_totals(world, alice):
    for title in ("Walk", "Run", "Read"):
        alice.select_action(world.action(title))
    alice.custom_action()
    world.db.write(lambda s: s.execute(delete(DailyProgress)))

    response = alice.post("/api/users/progress/")
    assert response.status_code == 201
    row = response.json
    assert (row["actions_total"], row["customactions_total"]) == (3, 1)


def test_a_corrected_total_is_replaced_by_the_next_selection(
    world, alice, rows
):
    alice.post(ACTIONS, json={"action": world.action("Walk")})
    row_id = rows.latest(alice)["id"]
    alice.request(
        "PATCH", f"/api/users/progress/{row_id}/", json={"actions_total": 9}
    )
    alice.post(ACTIONS, json={"action": world.action("Run")})
    assert _totals(rows, alice) == (2, 0)


@pytest.mark.parametrize(
    "written",
    ["+{}", "0{}", "{}.0", "\uff10{}", "{}\u0661", "0", "2147483648"],
)
def test_an_id_not_written_plainly_is_no_path(world, alice, owned, written):
    goal = written.format(owned.goal) if "{}" in written else written
    action = written.format(owned.user_action) if "{}" in written else written
    for method, path in (
        ("DELETE", f"/api/users/goals/{goal}/"),
        ("DELETE", f"/api/users/actions/{action}/"),
        ("POST", f"/api/users/actions/{action}/complete/"),
    ):
        assert_error(alice.request(method, path), 404)
    assert [
        g["goal"] for g in alice.get("/api/users/goals/").json["results"]
    ] == [owned.goal]
    assert world.backlog() == 0
    assert (
        alice.post(
            f"/api/users/actions/{owned.user_action}/complete/"
        ).status_code
        == 202
    )
