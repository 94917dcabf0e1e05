"""Day rows: list, create, read, partial updates, corrections, latest."""

import re
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from api.body import INT_MAX
from core.models import COUNTERS
from tests.api.conftest import assert_error, days_ago, today_of

PROGRESS = "/api/users/progress/"
FIELDS = {
    "id",
    "user",
    "date",
    *COUNTERS,
    "goal_status",
    "checkin_streak",
    "engagement_15_days",
    "engagement_30_days",
    "engagement_60_days",
    "engagement_rank",
    "updated_on",
    "created_on",
    "object_type",
}
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


def _item(row_id: int) -> str:
    return f"{PROGRESS}{row_id}/"


def test_list_is_empty_for_a_new_user(alice):
    response = alice.get(PROGRESS)
    assert response.status_code == 200
    assert response.json == {
        "count": 0,
        "next": None,
        "previous": None,
        "results": [],
    }


def test_post_creates_todays_row_with_201_and_every_field(alice):
    response = alice.post(PROGRESS)
    assert response.status_code == 201
    row = response.json
    assert set(row) == FIELDS
    assert row["user"] == alice.id
    assert row["date"] == today_of(alice).isoformat()
    assert all(row[name] == 0 for name in COUNTERS)
    assert row["goal_status"] == {}
    assert row["checkin_streak"] == 0
    assert row["engagement_15_days"] == 0.0
    assert row["object_type"] == "dailyprogress"
    assert TIMESTAMP.match(row["created_on"])
    assert TIMESTAMP.match(row["updated_on"])


def test_post_on_an_existing_row_is_200_with_the_same_row(alice):
    first = alice.post(PROGRESS)
    second = alice.post(PROGRESS, json={"actions_completed": 2})
    assert (first.status_code, second.status_code) == (201, 200)
    assert second.json["id"] == first.json["id"]
    assert second.json["actions_completed"] == 2
    assert alice.get(PROGRESS).json["count"] == 1


def test_post_sets_the_given_counters_and_check_ins(alice):
    body = {name: n for n, name in enumerate(COUNTERS, start=1)}
    body["goal_status"] = {"goal-7": 2, "goal-9": 5}
    row = alice.post(PROGRESS, json=body).json
    assert {name: row[name] for name in COUNTERS} == {
        name: body[name] for name in COUNTERS
    }
    assert row["goal_status"] == {"goal-7": 2, "goal-9": 5}


def test_concurrent_posts_create_a_single_row(alice):
    barrier = threading.Barrier(6)

    def post(_):
        barrier.wait()
        return alice.post(PROGRESS).status_code

    with ThreadPoolExecutor(6) as pool:
        statuses = sorted(pool.map(post, range(6)))
    assert statuses == [200] * 5 + [201]
    assert alice.get(PROGRESS).json["count"] == 1


def test_get_one_row_returns_the_same_object_as_the_list(alice, rows):
    rows.add(alice, days_ago(alice, 1), actions_completed=3)
    listed = alice.get(PROGRESS).json["results"][0]
    response = alice.get(_item(listed["id"]))
    assert response.status_code == 200
    assert response.json == listed


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH"])
def test_unknown_row_id_is_a_404(alice, method):
    alice.post(PROGRESS)
    response = alice.request(method, _item(4242), json={})
    assert_error(response, 404)


def test_list_is_newest_day_first(alice, rows):
    for n in (3, 0, 5, 1, 2):
        rows.add(alice, days_ago(alice, n))
    dates = [row["date"] for row in alice.get(PROGRESS).json["results"]]
    expected = [days_ago(alice, n).isoformat() for n in (0, 1, 2, 3, 5)]
    assert dates == expected


def test_latest_is_the_newest_row(alice, rows):
    rows.add(alice, days_ago(alice, 1), actions_completed=1)
    newest = rows.add(alice, today_of(alice), actions_completed=2)
    rows.add(alice, days_ago(alice, 4), actions_completed=3)
    latest = alice.get(f"{PROGRESS}latest/")
    assert latest.status_code == 200
    assert latest.json["id"] == newest
    assert latest.json["actions_completed"] == 2


def test_latest_without_any_row_is_a_404(alice):
    assert_error(alice.get(f"{PROGRESS}latest/"), 404)


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_put_and_patch_change_only_the_given_fields(alice, rows, method):
    row_id = rows.add(
        alice, days_ago(alice, 2), actions_completed=4, actions_snoozed=2
    )
    rows.check_in(row_id, 3, 4)
    response = alice.request(
        method, _item(row_id), json={"actions_snoozed": 7}
    )
    assert response.status_code == 200
    row = response.json
    assert row["id"] == row_id
    assert row["date"] == days_ago(alice, 2).isoformat()
    assert (row["actions_completed"], row["actions_snoozed"]) == (4, 7)
    assert row["goal_status"] == {"goal-3": 4}
    assert alice.get(_item(row_id)).json == row


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_whole_object_sent_back_unchanged_is_accepted(alice, rows, method):
    row_id = rows.add(alice, today_of(alice), customactions_dismissed=3)
    rows.check_in(row_id, 5, 2)
    before = alice.get(_item(row_id)).json
    response = alice.request(method, _item(row_id), json=before)
    assert response.status_code == 200, response.text
    after = response.json
    assert {k: v for k, v in after.items() if k != "updated_on"} == {
        k: v for k, v in before.items() if k != "updated_on"
    }


def test_put_of_the_whole_object_with_a_change_applies_the_change(alice):
    row = alice.post(PROGRESS).json
    row["customactions_completed"] = 6
    row["goal_status"] = {"goal-1": 1}
    updated = alice.request("PUT", _item(row["id"]), json=row).json
    assert updated["customactions_completed"] == 6
    assert updated["goal_status"] == {"goal-1": 1}


def test_put_with_an_empty_object_changes_nothing(alice, rows):
    row_id = rows.add(alice, today_of(alice), actions_dismissed=2)
    before = alice.get(_item(row_id)).json
    after = alice.request("PUT", _item(row_id), json={}).json
    assert after["actions_dismissed"] == 2
    assert after["goal_status"] == before["goal_status"]


def test_put_without_a_body_is_a_400(alice):
    row_id = alice.post(PROGRESS).json["id"]
    assert_error(alice.request("PUT", _item(row_id)), 400, "body")


BAD_COUNTS = [True, False, 1.5, 2.0, "3", -1, INT_MAX + 1, 10**20, None, [1]]


@pytest.mark.parametrize("name", COUNTERS)
def test_counter_refuses_non_integers_and_out_of_range(alice, name):
    row_id = alice.post(PROGRESS).json["id"]
    for value in [*BAD_COUNTS, {}]:
        response = alice.request("PATCH", _item(row_id), json={name: value})
        assert_error(response, 400, name)
    assert alice.get(_item(row_id)).json[name] == 0


@pytest.mark.parametrize("name", COUNTERS)
def test_counter_accepts_integers_from_0_to_int_max(alice, name):
    row_id = alice.post(PROGRESS).json["id"]
    for value in (INT_MAX, 1, 0):
        response = alice.request("PATCH", _item(row_id), json={name: value})
        assert response.status_code == 200
        assert response.json[name] == value


def test_post_refuses_a_bad_counter_without_creating_a_row(alice):
    assert_error(
        alice.post(PROGRESS, json={"actions_total": -3}), 400, "actions_total"
    )
    assert alice.get(PROGRESS).json["count"] == 0


@pytest.mark.parametrize("field", ["foo", "goalstatus", "actions_done"])
@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH"])
def test_unknown_field_is_a_400_naming_it(alice, field, method):
    row_id = alice.post(PROGRESS).json["id"]
    path = PROGRESS if method == "POST" else _item(row_id)
    response = alice.request(
        method, path, json={"actions_completed": 1, field: 1}
    )
    assert_error(response, 400, field)
    assert alice.get(_item(row_id)).json["actions_completed"] == 0


@pytest.mark.parametrize(
    "goal_status",
    [
        [],
        "goal-1",
        3,
        {"goal-1": 0},
        {"goal-1": 6},
        {"goal-1": True},
        {"goal-1": 2.5},
        {"goal-1": "3"},
        {"goal-1": None},
        {"1": 3},
        {"goal-x": 3},
        {"goal-": 3},
        {"goal--1": 3},
        {"Goal-1": 3},
        {"goal-99999999999": 3},
    ],
)
def test_bad_goal_status_is_a_400(alice, rows, goal_status):
    row_id = rows.add(alice, today_of(alice))
    rows.check_in(row_id, 2, 4)
    response = alice.request(
        "PATCH", _item(row_id), json={"goal_status": goal_status}
    )
    assert_error(response, 400, "goal_status")
    assert alice.get(_item(row_id)).json["goal_status"] == {"goal-2": 4}


def test_goal_status_replaces_the_whole_map(world, alice):
    goals = [world.goal(f"Goal {n}") for n in range(3)]
    for goal in goals:
        alice.select_goal(goal)
        alice.post(
            f"{PROGRESS}checkin/", json={"goal": goal, "daily_checkin": 2}
        )
    row_id = alice.get(f"{PROGRESS}latest/").json["id"]
    replaced = alice.request(
        "PATCH", _item(row_id), json={"goal_status": {f"goal-{goals[1]}": 5}}
    )
    assert replaced.json["goal_status"] == {f"goal-{goals[1]}": 5}
    emptied = alice.request("PUT", _item(row_id), json={"goal_status": {}})
    assert emptied.json["goal_status"] == {}


def test_update_without_goal_status_keeps_the_map(alice, rows):
    row_id = rows.add(alice, today_of(alice))
    rows.check_in(row_id, 4, 5)
    updated = alice.request(
        "PATCH", _item(row_id), json={"actions_completed": 2}
    )
    assert updated.json["goal_status"] == {"goal-4": 5}


def test_reports_move_on_from_a_corrected_counter(world, alice):
    walk, read, run = (
        alice.select_action(world.action(title)) for title in "ABC"
    )
    alice.post(f"/api/users/actions/{walk}/complete/")
    world.drain()
    row = alice.get(f"{PROGRESS}latest/").json
    assert row["actions_completed"] == 1

    corrected = alice.request(
        "PATCH", _item(row["id"]), json={"actions_completed": 5}
    )
    assert corrected.json["actions_completed"] == 5

    alice.post(f"/api/users/actions/{read}/complete/")
    alice.post(f"/api/users/actions/{run}/complete/", json={})
    world.drain()
    assert alice.get(_item(row["id"])).json["actions_completed"] == 7

    alice.post(
        f"/api/users/actions/{walk}/complete/", json={"state": "dismissed"}
    )
    world.drain()
    row = alice.get(_item(row["id"])).json
    assert (row["actions_completed"], row["actions_dismissed"]) == (6, 1)


def test_a_counter_corrected_to_zero_never_goes_below_zero(world, alice):
    walk = alice.select_action(world.action())
    alice.post(f"/api/users/actions/{walk}/complete/")
    world.drain()
    row_id = alice.get(f"{PROGRESS}latest/").json["id"]
    alice.request("PUT", _item(row_id), json={"actions_completed": 0})

    alice.post(
        f"/api/users/actions/{walk}/complete/", json={"state": "snoozed"}
    )
    world.drain()
    row = alice.get(_item(row_id)).json
    assert (row["actions_completed"], row["actions_snoozed"]) == (0, 1)


def test_post_on_todays_row_corrects_counters_of_todays_row_only(alice, rows):
    past = rows.add(alice, days_ago(alice, 1), actions_completed=4)
    today = alice.post(PROGRESS, json={"actions_completed": 1}).json
    assert today["date"] == today_of(alice).isoformat()
    assert alice.get(_item(past)).json["actions_completed"] == 4


@pytest.mark.parametrize("key", ["goal-0", "goal-01", "goal-+1", "goal- 1"])
def test_goal_status_keys_must_be_canonical_goal_ids(alice, key):
    response = alice.post(
        "/api/users/progress/", json={"goal_status": {key: 3}}
    )
    assert response.status_code == 400
    assert "goal_status" in response.json["error"]
