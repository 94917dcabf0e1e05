"""Streaks of completions, and the check-in streak of each day row."""

import pytest
import redis.exceptions

from tests.api.conftest import assert_error, days_ago, today_of

STREAKS = "/api/users/progress/streaks/"
CHECKIN = "/api/users/progress/checkin/"


def _counts(user, days=7) -> dict[str, int]:
    response = user.get(STREAKS, params={"days": days})
    assert response.status_code == 200, response.text
    return {day["date"]: day["count"] for day in response.json["results"]}


def test_default_is_seven_days_oldest_first_ending_today(alice):
    response = alice.get(STREAKS)
    assert response.status_code == 200
    body = response.json
    assert body["count"] == 7
    assert body["current_streak"] == 0
    assert [day["date"] for day in body["results"]] == [
        days_ago(alice, n).isoformat() for n in range(6, -1, -1)
    ]
    assert [day["day"] for day in body["results"]] == [
        days_ago(alice, n).strftime("%A") for n in range(6, -1, -1)
    ]
    assert all(day["count"] == 0 for day in body["results"])


@pytest.mark.parametrize("days", [1, 30, 366])
def test_days_gives_exactly_that_many_results(alice, days):
    body = alice.get(STREAKS, params={"days": days}).json
    assert body["count"] == days
    assert len(body["results"]) == days
    assert body["results"][-1]["date"] == today_of(alice).isoformat()


@pytest.mark.parametrize("days", ["0", "367", "-1", "1.5", "abc", "", "7x"])
def test_days_outside_1_to_366_is_a_400(alice, days):
    response = alice.get(f"{STREAKS}?days={days}")
    assert_error(response, 400, "days")


def test_count_adds_completed_actions_and_custom_actions(alice, rows):
    rows.add(
        alice,
        days_ago(alice, 2),
        actions_completed=3,
        customactions_completed=2,
        actions_snoozed=9,
        customactions_dismissed=9,
    )
    rows.add(alice, today_of(alice), customactions_completed=1)
    counts = _counts(alice)
    assert counts[days_ago(alice, 2).isoformat()] == 5
    assert counts[today_of(alice).isoformat()] == 1
    assert counts[days_ago(alice, 1).isoformat()] == 0


def test_current_streak_counts_consecutive_days_ending_today(alice, rows):
    for n in (0, 1, 2, 3):
        rows.add(alice, days_ago(alice, n), actions_completed=1)
    rows.add(alice, days_ago(alice, 5), actions_completed=1)
    assert alice.get(STREAKS).json["current_streak"] == 4


def test_current_streak_ends_yesterday_while_today_has_none(alice, rows):
    rows.add(alice, days_ago(alice, 1), customactions_completed=2)
    rows.add(alice, days_ago(alice, 2), actions_completed=1)
    rows.add(alice, today_of(alice), actions_snoozed=3)
    assert alice.get(STREAKS).json["current_streak"] == 2


def test_current_streak_is_zero_after_a_missed_yesterday(alice, rows):
    rows.add(alice, days_ago(alice, 2), actions_completed=1)
    rows.add(alice, days_ago(alice, 3), actions_completed=1)
    assert alice.get(STREAKS).json["current_streak"] == 0


def test_current_streak_looks_back_beyond_the_days_shown(alice, rows):
    for n in range(12):
        rows.add(alice, days_ago(alice, n), actions_completed=1)
    body = alice.get(STREAKS, params={"days": 3}).json
    assert body["current_streak"] == 12
    assert len(body["results"]) == 3


def test_applied_reports_show_in_todays_count(world, alice):
    walk = alice.select_action(world.action())
    stretch = alice.custom_action()
    assert _counts(alice)[today_of(alice).isoformat()] == 0

    alice.post(f"/api/users/actions/{walk}/complete/")
    alice.post(f"/api/users/customactions/{stretch}/complete/")
    world.drain()
    body = alice.get(STREAKS).json
    assert body["results"][-1]["count"] == 2
    assert body["current_streak"] == 1


def test_a_corrected_counter_shows_in_the_streaks(alice):
    row = alice.post("/api/users/progress/").json
    assert _counts(alice)[row["date"]] == 0
    alice.request(
        "PATCH",
        f"/api/users/progress/{row['id']}/",
        json={"actions_completed": 4},
    )
    assert _counts(alice)[row["date"]] == 4


def test_streaks_are_read_from_sql_when_redis_is_down(
    monkeypatch, world, alice, rows
):
    rows.add(alice, days_ago(alice, 1), actions_completed=2)

    def refuse(*args, **kwargs):
        raise redis.exceptions.ConnectionError("Connection refused")

    monkeypatch.setattr(world.services.redis, "hgetall", refuse)
    body = alice.get(STREAKS).json
    assert body["results"][-2]["count"] == 2
    assert body["current_streak"] == 1


def test_streaks_show_only_the_callers_days(alice, bob, rows):
    rows.add(bob, today_of(bob), actions_completed=5)
    assert alice.get(STREAKS).json["results"][-1]["count"] == 0
    assert bob.get(STREAKS).json["results"][-1]["count"] == 5


# checkin_streak on day rows.


def _by_date(user) -> dict[str, dict]:
    results = user.get("/api/users/progress/").json["results"]
    return {row["date"]: row for row in results}


def test_checkin_streak_counts_consecutive_days_with_a_check_in(
    world, alice, rows
):
    goal = world.goal()
    alice.select_goal(goal)
    for n in (1, 2):
        rows.check_in(rows.add(alice, days_ago(alice, n)), goal, 3)
    rows.add(alice, days_ago(alice, 3))
    rows.check_in(rows.add(alice, days_ago(alice, 4)), goal, 2)

    today = alice.post(CHECKIN, json={"goal": goal, "daily_checkin": 4})
    assert today.json["checkin_streak"] == 3

    found = _by_date(alice)
    streaks = {n: found[days_ago(alice, n).isoformat()] for n in range(5)}
    assert [streaks[n]["checkin_streak"] for n in range(5)] == [3, 2, 1, 0, 1]


def test_checkin_streak_is_zero_on_a_day_without_check_in(world, alice, rows):
    goal = world.goal()
    rows.check_in(rows.add(alice, days_ago(alice, 1)), goal, 3)
    today = alice.post("/api/users/progress/").json
    assert today["checkin_streak"] == 0


def test_checkin_streak_ends_when_the_map_is_emptied(world, alice, rows):
    goal = world.goal()
    alice.select_goal(goal)
    rows.check_in(rows.add(alice, days_ago(alice, 1)), goal, 3)
    today = alice.post(CHECKIN, json={"goal": goal, "daily_checkin": 4})
    assert today.json["checkin_streak"] == 2
    emptied = alice.request(
        "PATCH",
        f"/api/users/progress/{today.json['id']}/",
        json={"goal_status": {}},
    )
    assert emptied.json["checkin_streak"] == 0
