"""The service end to end: HTTP in, Celery and Redis in between, HTTP out.

Every check reads back over HTTP what the client would see, once the
workers have drained the report stream. The session's users share one
database, so ranks are checked against every ranked user of the session.
"""

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import pytest
import requests

from tests.integration.stack import (
    RANK_FLOOR,
    Stack,
    free_port,
    local_time,
    local_today,
    wait_until,
)

pytestmark = pytest.mark.integration

REPORTED = (
    "actions_completed",
    "actions_snoozed",
    "actions_dismissed",
    "customactions_completed",
    "customactions_snoozed",
    "customactions_dismissed",
)


def counters(row: dict, **expected) -> tuple[dict, dict]:
    """A row's report counters, and the same with unnamed ones at 0."""
    found = {name: row[name] for name in REPORTED}
    return found, {name: expected.get(name, 0) for name in REPORTED}


def expected_rank(stack: Stack, engagement: float) -> float:
    """The rank SPEC 4.4 gives, against the session's ranked users."""
    ranked = [
        user.today()["engagement_15_days"]
        for user in stack.users
        if user.reported
    ]
    lower = sum(value < engagement for value in ranked)
    rank = Decimal(0)
    if len(ranked) > 1:
        rank = (Decimal(100) * lower / len(ranked)).quantize(
            Decimal("0.01"), ROUND_HALF_UP
        )
    return max(float(rank), RANK_FLOOR)


def weekday(day: str) -> str:
    return date.fromisoformat(day).strftime("%A")


def write_history(stack: Stack, name: str, lines: list[dict]):
    path = stack.folder / name
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def test_readyz_names_the_database_redis_and_the_broker(stack):
    ready = stack.http.get(stack.base_url + "/readyz", timeout=10)
    health = stack.http.get(stack.base_url + "/healthz", timeout=10)

    assert ready.status_code == 200
    assert ready.json() == {
        "ready": True,
        "database": "ok",
        "redis": "ok",
        "broker": "ok",
    }
    assert health.status_code == 200


def test_reports_show_up_in_counters_engagement_ranks_and_streaks(stack):
    top, middle, bottom = stack.create_users(
        "UTC", "Asia/Tokyo", "America/Los_Angeles"
    )
    plans = [
        (top, ["completed", "completed"]),
        (middle, ["completed", "dismissed"]),
        (bottom, ["snoozed"]),
    ]

    for user, states in plans:
        for action, state in zip(stack.actions, states, strict=False):
            target = user.select_action(action)
            answer = user.report("action", target, state=state, length="5m")
            assert answer == {
                "action": target,
                "state": state,
                "date": local_today(user.timezone),
            }
    top.wait_for_today("two completions", actions_completed=2)
    middle.wait_for_today(
        "a completion and a dismissal",
        actions_completed=1,
        actions_dismissed=1,
    )
    bottom.wait_for_today("a snooze", actions_snoozed=1)
    stack.settle()

    for user, engagement, total in (
        (top, 100.0, 2),
        (middle, 50.0, 2),
        (bottom, 0.0, 1),
    ):
        latest = user.latest()
        assert latest["date"] == local_today(user.timezone)
        assert latest["actions_total"] == total
        assert latest["engagement_15_days"] == engagement
        assert latest["engagement_30_days"] == engagement
        assert latest["engagement_60_days"] == engagement
        assert latest["engagement_rank"] == expected_rank(stack, engagement)
        assert user.rows() == [latest]
    ranks = [user.latest()["engagement_rank"] for user in (top, middle)]
    assert ranks[0] > ranks[1] >= RANK_FLOOR
    assert bottom.latest()["engagement_rank"] == RANK_FLOOR

    for user, completed in ((top, 2), (middle, 1), (bottom, 0)):
        streaks = user.streaks()
        today = local_today(user.timezone)
        assert streaks["count"] == 7
        assert len(streaks["results"]) == 7
        assert streaks["results"][-1] == {
            "date": today,
            "day": weekday(today),
            "count": completed,
        }
        assert streaks["current_streak"] == min(completed, 1)


def test_checkin_and_correction_then_reports_move_on_from_them(stack):
    (user,) = stack.create_users("Europe/Berlin")
    user.select_goal(stack.goal)
    walk, read = (user.select_action(action) for action in stack.actions)
    stretch = user.custom_action()
    goal_key = f"goal-{stack.goal}"

    response = user.post(
        "/api/users/progress/checkin/",
        json={"goal": stack.goal, "daily_checkin": 4},
    )
    assert response.status_code == 200, response.text
    row = response.json()
    assert row["date"] == local_today(user.timezone)
    assert row["goal_status"] == {goal_key: 4}
    assert row["checkin_streak"] == 1
    assert (row["actions_total"], row["customactions_total"]) == (2, 1)

    user.report("action", walk)
    user.wait_for_today("the first completion", actions_completed=1)
    stack.settle()

    # The client sends back the whole object with one counter corrected.
    corrected = {**user.latest(), "actions_completed": 5}
    response = user.put(f"/api/users/progress/{row['id']}/", json=corrected)
    assert response.status_code == 200, response.text
    assert response.json()["actions_completed"] == 5
    assert response.json()["goal_status"] == {goal_key: 4}

    user.report("action", walk, state="snoozed", length="1 hour")
    user.report("action", read)
    user.report("customaction", stretch)
    user.wait_for_today(
        "the reports after the correction",
        actions_completed=5,
        actions_snoozed=1,
        customactions_completed=1,
    )
    stack.settle()

    latest = user.latest()
    found, expected = counters(
        latest,
        actions_completed=5,
        actions_snoozed=1,
        customactions_completed=1,
    )
    assert found == expected
    assert latest["id"] == row["id"]
    assert latest["goal_status"] == {goal_key: 4}
    assert latest["checkin_streak"] == 1
    # Recorded states: walk snoozed, read and stretch completed.
    assert latest["engagement_15_days"] == 66.67
    assert user.streaks()["results"][-1]["count"] == 6
    assert user.streaks()["current_streak"] == 1


def test_a_new_custom_action_never_inherits_a_deleted_ones_report(stack):
    (user,) = stack.create_users("UTC")
    first = user.custom_action("Stretch")
    user.report("customaction", first)
    user.wait_for_today("the first completion", customactions_completed=1)
    stack.settle()
    response = user.request("DELETE", f"/api/users/customactions/{first}/")
    assert response.status_code == 204

    second = user.custom_action("Stretch again")
    user.report("customaction", second)

    assert second != first
    latest = user.wait_for_today(
        "the deleted action to keep counting next to the new one",
        customactions_completed=2,
        customactions_total=1,
    )
    stack.settle()
    assert latest["engagement_15_days"] == 100.0


def test_concurrent_checkins_and_reports_of_one_user_lose_nothing(stack):
    (user,) = stack.create_users("Asia/Kolkata")
    for goal in stack.goals:
        user.select_goal(goal)

    def checkin(goal):
        return user.post(
            "/api/users/progress/checkin/",
            json={"goal": goal, "daily_checkin": 3},
        )

    def create_row(_):
        return user.post("/api/users/progress/", json={})

    with ThreadPoolExecutor(max_workers=6) as pool:
        first = [pool.submit(checkin, goal) for goal in stack.goals]
        first += [pool.submit(create_row, n) for n in range(3)]
        answers = [future.result() for future in first]
    assert all(a.status_code in (200, 201) for a in answers), answers
    assert sum(a.status_code == 201 for a in answers) <= 1

    customs = [user.custom_action(f"Task {n}") for n in range(8)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        reports = list(
            pool.map(
                lambda target: user.report("customaction", target), customs
            )
        )
    assert {report["state"] for report in reports} == {"completed"}
    user.wait_for_today("every concurrent report", customactions_completed=8)
    stack.settle()

    (row,) = user.rows()
    assert row["goal_status"] == {f"goal-{goal}": 3 for goal in stack.goals}
    assert row["customactions_total"] == 8
    assert row["engagement_15_days"] == 100.0


def test_after_a_timezone_change_every_web_worker_uses_the_new_zone(stack):
    (user,) = stack.create_users("UTC")
    walk = user.select_action(stack.actions[0])
    # A zone whose date differs from UTC's right now.
    moved_to = next(
        zone
        for zone in ("Pacific/Kiritimati", "Pacific/Pago_Pago")
        if local_today(zone) != local_today("UTC")
    )
    # Both gunicorn workers learn the token, and the zone with it.
    for _ in range(20):
        assert user.get("/api/users/me/").status_code == 200

    response = user.request(
        "PATCH", "/api/users/me/", json={"timezone": moved_to}
    )
    assert response.status_code == 200, response.text
    user.timezone = moved_to
    dates = {user.report("action", walk)["date"] for _ in range(20)}

    assert dates == {local_today(moved_to)}
    user.wait_for_today("the reports on the new day", actions_completed=1)
    stack.settle()


def test_imported_history_appears_and_a_second_import_changes_nothing(
    stack,
):
    zone = "Europe/Berlin"
    (user,) = stack.create_users(zone)
    walk, read = (user.select_action(action) for action in stack.actions)
    stretch = user.custom_action()

    def line(kind, target, state, days_ago, hour=12):
        return {
            "user": user.id,
            "kind": kind,
            "target": target,
            "state": state,
            "occurred_at": local_time(zone, days_ago, hour),
        }

    path = write_history(
        stack,
        f"history-{user.id}.jsonl",
        [
            line("action", walk, "completed", 1),
            line("action", walk, "completed", 2),
            # The later report wins, wherever it stands in the file.
            line("action", read, "snoozed", 2, hour=18),
            line("action", read, "completed", 2, hour=9),
            line("customaction", stretch, "completed", 3),
            line("action", walk, "dismissed", 5),
        ],
    )

    answer = stack.cli_ok("import-reports", str(path))
    user.reported = True
    assert answer == {"queued": 6, "users": 1, "file": str(path)}
    assert "queueing: 100%" in stack.cli_stderr
    assert "6/6" in stack.cli_stderr
    wait_until(
        lambda: (user.streaks()["current_streak"] == 3, user.streaks()),
        "the imported history to show in the streaks",
    )
    stack.settle()

    rows = {row["date"]: row for row in user.rows()}
    days = [local_today(zone, n) for n in (0, 1, 2, 3, 5)]
    assert sorted(rows, reverse=True) == days
    for days_ago, expected in (
        (0, {}),
        (1, {"actions_completed": 1}),
        (2, {"actions_completed": 1, "actions_snoozed": 1}),
        (3, {"customactions_completed": 1}),
        (5, {"actions_dismissed": 1}),
    ):
        found, wanted = counters(rows[local_today(zone, days_ago)], **expected)
        assert found == wanted, days_ago
    # Three of the five recorded states are completions.
    assert rows[days[0]]["engagement_15_days"] == 60.0
    counts = [day["count"] for day in user.streaks()["results"]]
    assert counts == [0, 0, 0, 1, 1, 1, 0]

    rows_before, streaks_before = user.rows(), user.streaks()
    again = stack.cli_ok("import-reports", str(path))
    assert again["queued"] == 6
    stack.settle()

    rows_after = user.rows()
    # Only the recompute's time stamp on today's row may move.
    rows_before[0].pop("updated_on")
    rows_after[0].pop("updated_on")
    assert rows_after == rows_before
    assert user.streaks() == streaks_before


def test_an_import_with_a_bad_line_queues_nothing(stack):
    (user,) = stack.create_users("UTC")
    walk = user.select_action(stack.actions[0])
    good = {
        "user": user.id,
        "kind": "action",
        "target": walk,
        "state": "completed",
        "occurred_at": local_time("UTC", 1),
    }
    path = write_history(
        stack, f"bad-{user.id}.jsonl", [good, {**good, "target": 2**31 - 1}]
    )
    last_id = stack.redis.xinfo_stream("dp:reports")["last-generated-id"]

    code, answer = stack.cli("import-reports", str(path))

    assert code == 1
    assert answer["error"].startswith("line 2: target:")
    assert stack.redis.xinfo_stream("dp:reports")["last-generated-id"] == (
        last_id
    )
    # Selecting the action made today's row; yesterday has none.
    assert [row["date"] for row in user.rows()] == [local_today("UTC")]


def test_rebuild_cache_after_flushall_restores_ranks_and_streaks(stack):
    leader, runner = stack.create_users("Asia/Kolkata", "America/New_York")
    leader_walk, leader_read = map(leader.select_action, stack.actions)
    runner_walk, runner_read = map(runner.select_action, stack.actions)
    leader.report(
        "action",
        leader_walk,
        occurred_at=local_time(leader.timezone, 1),
    )
    leader.report("action", leader_walk)
    leader.report("action", leader_read)
    runner.report("action", runner_walk)
    runner.report("action", runner_read, state="dismissed")
    leader.wait_for_today("two completions", actions_completed=2)
    runner.wait_for_today(
        "a completion and a dismissal",
        actions_completed=1,
        actions_dismissed=1,
    )
    stack.settle()

    def shown():
        return {
            user.id: (
                [row["engagement_rank"] for row in user.rows()[:1]],
                user.streaks(days=14),
            )
            for user in stack.users
        }

    before = shown()
    assert before[leader.id][1]["current_streak"] == 2
    assert before[leader.id][0] == [expected_rank(stack, 100.0)]
    assert before[leader.id][0][0] > RANK_FLOOR

    stack.redis.flushall()
    assert leader.latest()["engagement_rank"] == RANK_FLOOR

    answer = stack.cli_ok("rebuild-cache")
    assert "streaks: 100%" in stack.cli_stderr

    assert answer["ranked"] == sum(user.reported for user in stack.users)
    assert stack.redis.exists(f"dp:streak:{leader.id}")
    assert shown() == before

    # The workers found their consumer group gone and carry on.
    runner.report("action", runner_read)
    runner.wait_for_today(
        "the dismissal replaced by a completion",
        actions_completed=2,
        actions_dismissed=0,
    )
    stack.settle()


def test_an_unreachable_broker_is_a_503_and_not_ready(stack):
    (user,) = stack.create_users("UTC")
    walk = user.select_action(stack.actions[0])
    port = free_port()
    missing = stack.folder / "no-broker.sock"
    env = {
        **stack.env,
        "CELERY_BROKER_URL": f"unix://{missing}",
        "PORT": str(port),
    }
    base = f"http://127.0.0.1:{port}"
    stack.start_web("gunicorn-no-broker", env, port)
    try:

        def not_ready():
            stack.processes.check_alive()
            try:
                response = stack.http.get(base + "/readyz", timeout=5)
            except requests.ConnectionError as exc:
                return False, repr(exc)
            return response.status_code == 503, response

        ready = wait_until(not_ready, "/readyz to answer 503")
        report = stack.http.post(
            f"{base}/api/users/actions/{walk}/complete/",
            json={"state": "completed"},
            headers={"Authorization": f"Token {user.token}"},
            timeout=10,
        )
    finally:
        stack.processes.stop("gunicorn-no-broker")

    body = ready.json()
    assert body["ready"] is False
    assert (body["database"], body["redis"]) == ("ok", "ok")
    assert body["broker"].startswith("unavailable")
    assert int(ready.headers["Retry-After"]) > 0
    assert report.status_code == 503
    assert set(report.json()) == {"error"}
    assert int(report.headers["Retry-After"]) > 0


def test_the_cli_exits_2_with_a_json_error_when_redis_is_unreachable(stack):
    (user,) = stack.create_users("UTC")
    walk = user.select_action(stack.actions[0])
    path = write_history(
        stack,
        f"unsent-{user.id}.jsonl",
        [
            {
                "user": user.id,
                "kind": "action",
                "target": walk,
                "state": "completed",
                "occurred_at": local_time("UTC", 1),
            }
        ],
    )
    env = {**stack.env, "REDIS_URL": f"unix://{stack.folder / 'gone.sock'}"}
    commands = [("import-reports", str(path)), ("rebuild-cache",)]

    results = stack.cli_many(*commands, env=env)

    for code, answer in results:
        assert code == 2
        assert list(answer) == ["error"]
        assert "Redis is unavailable" in answer["error"]
