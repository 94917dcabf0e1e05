"""Helpers for the API tests: day rows put straight into SQL, and dates.

Rows of past days cannot be made through the API, so `rows.add` writes
them with the core functions the workers use, then drops the user's
streak cache so that the next read rebuilds it from SQL. `owned` holds
one of each of alice's objects, named as the path templates name them.
"""

from datetime import date, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update

from core import progress, streaks
from core.models import DailyProgress

JSON = "application/json"


def today_of(user) -> date:
    return datetime.now(ZoneInfo(user.timezone)).date()


def days_ago(user, n: int) -> date:
    return today_of(user) - timedelta(days=n)


def assert_error(response, status: int, contains: str = "") -> str:
    """The response is a JSON error of this status; returns its message."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(JSON)
    assert set(response.json) == {"error"}
    message = response.json["error"]
    assert isinstance(message, str) and message
    assert contains in message
    return message


class Rows:
    def __init__(self, world):
        self._world = world

    def add(self, user, day: date, **values) -> int:
        """A day row for `user`, with the given columns set; its id."""

        def work(session):
            row = progress.row_for(session, user.id, day)
            if values:
                session.execute(
                    update(DailyProgress)
                    .where(DailyProgress.id == row.id)
                    .values(**values)
                )
            return row.id

        row_id = self._world.db.write(work)
        self._world.services.redis.delete(streaks.key(user.id))
        return row_id

    def check_in(self, row_id: int, goal_id: int, value: int = 3) -> None:
        self._world.db.write(
            lambda s: progress.check_in(s, row_id, goal_id, value)
        )

    def latest(self, user) -> dict:
        """The caller's newest row, as the API shows it."""
        response = user.get("/api/users/progress/latest/")
        assert response.status_code == 200, response.text
        return response.json


@pytest.fixture
def rows(world) -> Rows:
    return Rows(world)


@pytest.fixture
def alice(world):
    return world.user(email="alice@example.org")


@pytest.fixture
def bob(world):
    return world.user(email="bob@example.org")


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
