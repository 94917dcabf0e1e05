"""Races against the real gunicorn: many requests of one user at once.

Each test lines its requests up behind a barrier so that they reach the
web workers together, then checks what SPEC 6 promises: one row per
user and day, no check-in and no counter change lost, and totals that
follow the selections.
"""

import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine, func, select

from core import accounts
from core.db import Database
from core.models import DailyProgress
from tests.integration.stack import ApiUser, Stack, local_today

pytestmark = pytest.mark.integration

# Neither keeps daylight saving time and the second is 25 hours ahead of
# the first: after flying from HOME to AWAY, a user's today has no row.
HOME, AWAY = "Pacific/Pago_Pago", "Pacific/Kiritimati"
ACTION_STATES = ["completed"] * 7 + ["snoozed"] * 5
CUSTOM_STATES = ["completed"] * 5 + ["snoozed"] * 7
# The only counters the clients set; no report in the race moves them.
CORRECTIONS = {"actions_dismissed": 3, "customactions_dismissed": 4}


@pytest.fixture(scope="module")
def catalogue(stack) -> tuple[list[int], list[int]]:
    """Ten goals and twelve actions: the stack's, and more of this module's.

    Made in one transaction with the code the CLI runs, not with 17 CLI
    processes; kept apart from `stack.goals` and `stack.actions`, which
    other tests select in full.
    """
    db = Database(stack.env["DATABASE_URL"])
    try:
        goals, actions = db.write(
            lambda session: (
                [
                    accounts.create_goal(session, f"Race goal {n}").id
                    for n in range(7)
                ],
                [
                    accounts.create_action(session, f"Race {n}").id
                    for n in range(10)
                ],
            )
        )
    finally:
        db.dispose()
    return stack.goals + goals, stack.actions + actions


def race(calls: list) -> list:
    """Runs every call at once, each in its own thread; their results."""
    barrier = threading.Barrier(len(calls))

    def run(call):
        barrier.wait(timeout=60)
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


def clear_of_midnight(zone: str, margin: float = 120.0) -> None:
    """Sleep into the next day when this one ends within `margin` s."""
    now = datetime.now(ZoneInfo(zone))
    left = 86400 - (now.hour * 3600 + now.minute * 60 + now.second)
    if left < margin:
        time.sleep(left + 1)


def rows_in_sql(stack: Stack, user_id: int, day: str) -> int:
    """The user's rows for `day`, counted in the database itself."""
    engine = create_engine(stack.env["DATABASE_URL"])
    try:
        with engine.connect() as conn:
            return conn.scalar(
                select(func.count())
                .select_from(DailyProgress)
                .where(
                    DailyProgress.user_id == user_id,
                    DailyProgress.day == date.fromisoformat(day),
                )
            )
    finally:
        engine.dispose()


def no_server_error(answers) -> None:
    failed = [(a.status_code, a.text) for a in answers if a.status_code >= 500]
    assert not failed, failed


def traveller(stack: Stack, goals, actions):
    """A user who selected everything at HOME, then flew to AWAY.

    Returns the user, their user action ids and custom action ids.
    """
    (user,) = stack.create_users(HOME)
    for goal in goals:
        user.select_goal(goal)
    user_actions = [user.select_action(action) for action in actions]
    customs = [user.custom_action(f"Own {n}") for n in range(12)]
    clear_of_midnight(AWAY)
    moved = user.request("PATCH", "/api/users/me/", json={"timezone": AWAY})
    assert moved.status_code == 200, moved.text
    user.timezone = AWAY
    today = local_today(AWAY)
    assert today not in [row["date"] for row in user.rows()]
    return user, user_actions, customs


def test_fifty_writers_on_a_new_day_make_one_row_and_lose_nothing(
    stack, catalogue
):
    goals, actions = catalogue
    user, user_actions, customs = traveller(stack, goals, actions)
    today = local_today(AWAY)
    progress = "/api/users/progress/"

    def report(kind, target, state):
        return lambda: user.post(
            f"/api/users/{kind}s/{target}/complete/", json={"state": state}
        )

    def checkin(goal):
        return lambda: user.post(
            progress + "checkin/",
            json={"goal": goal, "daily_checkin": checkin_value(goal)},
        )

    posts = []  # every POST of today's row, to count the 201s

    def post_row(body):
        def call():
            answer = user.post(progress, json=body)
            posts.append(answer)
            return answer

        return call

    def correct_row(method):
        def call():
            made = post_row({})()
            if made.status_code not in (200, 201):
                return made
            row = made.json()["id"]
            return user.request(method, f"{progress}{row}/", json=CORRECTIONS)

        return call

    def checkin_value(goal):
        return 1 + goals.index(goal) % 5

    calls = [
        *(
            report("action", target, state)
            for target, state in zip(user_actions, ACTION_STATES, strict=True)
        ),
        *(
            report("customaction", target, state)
            for target, state in zip(customs, CUSTOM_STATES, strict=True)
        ),
        *(checkin(goal) for goal in goals),
        *(post_row({name: value}) for name, value in CORRECTIONS.items()),
        *(post_row(dict(CORRECTIONS)) for _ in range(6)),
        *(correct_row(method) for method in ("PUT", "PATCH") * 4),
    ]
    assert len(calls) == 50
    answers = race(calls)
    user.reported = True  # ranked from now on

    no_server_error(answers)
    reports, rest = answers[:24], answers[24:]
    assert [a.status_code for a in reports] == [202] * 24, reports
    assert {a.json()["date"] for a in reports} == {today}
    assert all(a.status_code in (200, 201) for a in rest), rest
    assert len(posts) == 16
    created = [a for a in posts if a.status_code == 201]
    assert len(created) <= 1, [a.json() for a in created]
    assert {a.json()["id"] for a in rest} == {rest[0].json()["id"]}
    stack.settle()

    row = user.latest()
    assert row["date"] == today
    assert {
        name: row[name]
        for name in (
            "actions_total",
            "actions_completed",
            "actions_snoozed",
            "customactions_total",
            "customactions_completed",
            "customactions_snoozed",
            *CORRECTIONS,
        )
    } == {
        "actions_total": 12,
        "actions_completed": ACTION_STATES.count("completed"),
        "actions_snoozed": ACTION_STATES.count("snoozed"),
        "customactions_total": 12,
        "customactions_completed": CUSTOM_STATES.count("completed"),
        "customactions_snoozed": CUSTOM_STATES.count("snoozed"),
        **CORRECTIONS,
    }
    assert row["goal_status"] == {
        f"goal-{goal}": checkin_value(goal) for goal in goals
    }
    assert [r["date"] for r in user.rows()].count(today) == 1
    assert rows_in_sql(stack, user.id, today) == 1


def test_concurrent_selections_and_removals_keep_todays_totals(
    stack, catalogue
):
    _, actions = catalogue
    (user,) = stack.create_users("UTC")
    known = {
        "action": [user.select_action(action) for action in actions[:6]],
        "customaction": [user.custom_action(f"Mine {n}") for n in range(6)],
    }

    # Rounds of 40 changes at once; a stale count shows in the round that
    # made it, before later changes recount the totals.
    for round_ in range(8):
        changes = [
            _one_change(user, random.Random(f"{round_}-{n}"), actions, known)
            for n in range(40)
        ]
        answers = race([call for call, *_ in changes])

        no_server_error(answers)
        assert {a.status_code for a in answers} <= {200, 201, 204, 404}
        for answer, (_, kind, target) in zip(answers, changes, strict=True):
            if answer.status_code == 201:
                known[kind].append(answer.json()["id"])
            elif answer.status_code == 204 and target in known[kind]:
                known[kind].remove(target)
        chosen = user.get("/api/users/actions/", params={"page_size": 100})
        own = user.get("/api/users/customactions/", params={"page_size": 100})
        row = user.latest()
        assert (row["actions_total"], row["customactions_total"]) == (
            chosen.json()["count"],
            own.json()["count"],
        ), f"round {round_}"
    assert row["date"] == local_today("UTC")
    assert rows_in_sql(stack, user.id, row["date"]) == 1


def _one_change(user: ApiUser, rng: random.Random, actions, known):
    """A random selection or removal: the call, its kind, what it removes.

    Several calls of a round may remove the same thing or select the
    same action.
    """
    kind = rng.choice(("action", "customaction"))
    if known[kind] and rng.random() < 0.5:
        target = rng.choice(known[kind])
        path = f"/api/users/{kind}s/{target}/"
        return lambda: user.request("DELETE", path), kind, target
    if kind == "action":
        body = {"action": rng.choice(actions)}
    else:
        body = {"title": "Churn"}
    return lambda: user.post(f"/api/users/{kind}s/", json=body), kind, None
