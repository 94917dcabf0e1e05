"""What the fault tests share: users, the expected outcome, locks, waits.

The tests break one thing at a time in a running service (a worker, Redis,
the database) and check what a client sees over HTTP, and what SQL and
Redis hold, against an outcome computed from the accepted reports alone.
"""

import itertools
import os
import sqlite3
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from redis.exceptions import ResponseError
from sqlalchemy import create_engine, func, make_url, select, text

from core import accounts
from core.db import Database
from core.engagement import percent
from core.models import ActionReport
from core.queue import DEAD, GROUP, STREAM
from core.reports import counter
from tests.integration.stack import ApiUser, Stack, local_today, wait_until

REPORTED = (
    "actions_completed",
    "actions_snoozed",
    "actions_dismissed",
    "customactions_completed",
    "customactions_snoozed",
    "customactions_dismissed",
)
_emails = itertools.count(1)


def make_users(stack: Stack, db: Database, *zones: str) -> list[ApiUser]:
    """Users written straight to SQL: the CLI would cost a process each."""
    made = []
    for zone in zones:
        email = f"fault{next(_emails)}-{os.getpid()}@example.org"
        user, token = db.write(
            lambda s, email=email, zone=zone: accounts.create_user(
                s, email, zone
            )
        )
        made.append(ApiUser(stack, user.id, email, zone, token))
    stack.users.extend(made)
    return made


def minutes_ago(minutes: float) -> str:
    return (datetime.now(UTC) - timedelta(minutes=minutes)).isoformat()


class Outcome:
    """What the service must show, from the reports it answered 202 to.

    Per action and local day the report with the latest `occurred_at`
    wins; the tests never send two reports with the same time for one
    action and day, so the order of arrival never matters.
    """

    def __init__(self):
        self.states: dict[tuple, tuple[str, str]] = {}

    def accept(self, user: ApiUser, kind: str, target: int, body, answer):
        key = (user.id, kind, target, answer["date"])
        candidate = (body["occurred_at"], answer["state"])
        known = self.states.get(key)
        assert known is None or known[0] != candidate[0], key
        if known is None or _instant(candidate[0]) > _instant(known[0]):
            self.states[key] = candidate

    def counters(self, user_id: int) -> dict[str, dict[str, int]]:
        """day -> the six report counters of the user's row of that day."""
        found: dict[str, dict[str, int]] = {}
        for (user, kind, _, day), (_, state) in self.states.items():
            if user != user_id:
                continue
            row = found.setdefault(day, dict.fromkeys(REPORTED, 0))
            if counter(kind, state):
                row[counter(kind, state)] += 1
        return found

    def engagement(self, user_id: int) -> float:
        """Engagement over the user's last 15 days: every report is newer."""
        mine = [s for k, (_, s) in self.states.items() if k[0] == user_id]
        return percent(mine.count("completed"), len(mine))


def _instant(value: str) -> datetime:
    return datetime.fromisoformat(value)


def counters(row: dict) -> dict[str, int]:
    return {name: row[name] for name in REPORTED}


def check_rows(user: ApiUser, outcome: Outcome) -> None:
    """Every day row of the user shows exactly the expected counters."""
    expected = outcome.counters(user.id)
    today = local_today(user.timezone)
    expected.setdefault(today, dict.fromkeys(REPORTED, 0))
    rows = {row["date"]: row for row in user.rows()}
    found = {day: counters(row) for day, row in rows.items()}
    assert found == expected, f"user {user.id} in {user.timezone}"
    assert rows[today]["engagement_15_days"] == outcome.engagement(user.id)


def reports_in_sql(db: Database, users: list[ApiUser]) -> int:
    """Reports kept in SQL for these users; a redelivery adds none."""
    with db.reading() as session:
        return session.scalar(
            select(func.count())
            .select_from(ActionReport)
            .where(ActionReport.user_id.in_([user.id for user in users]))
        )


def pending(stack: Stack) -> dict[str, int]:
    """Entries read but not acknowledged, by consumer."""
    if not stack.redis.exists(STREAM):
        return {}
    try:
        consumers = stack.redis.xinfo_consumers(STREAM, GROUP)
    except ResponseError:  # no group yet, so nothing was read
        return {}
    return {
        c["name"].decode(): c["pending"] for c in consumers if c["pending"]
    }


def wait_drained(stack: Stack, what: str = "every report applied") -> None:
    """The stream empty and nothing pending; nothing moved aside."""

    def check():
        stack.processes.check_alive()
        seen = {"queued": stack.backlog(), "pending": pending(stack)}
        return seen == {"queued": 0, "pending": {}}, seen

    wait_until(check, what)
    buried = stack.redis.xrange(DEAD)
    assert not buried, f"{len(buried)} reports moved aside: {buried[:1]}"


def log_lines(stack: Stack, name: str, needle: str) -> int:
    """How many lines of a process's log contain `needle`."""
    path = Path(stack.folder) / f"{name}.log"
    if not path.exists():
        return 0
    return sum(
        needle in line
        for line in path.read_text(errors="replace").splitlines()
    )


@contextmanager
def write_lock(url: str):
    """Hold the database's write lock; readers still get through.

    SQLite: an EXCLUSIVE transaction (in WAL mode readers go on).
    PostgreSQL: the tables reports are written to, locked EXCLUSIVE.
    """
    if url.startswith("sqlite"):
        conn = sqlite3.connect(
            make_url(url).database, timeout=10, isolation_level=None
        )
        try:
            conn.execute("BEGIN EXCLUSIVE")
            yield
        finally:
            conn.close()  # rolls back, releasing the lock
        return
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            conn.execute(text("SET lock_timeout = '10s'"))
            conn.execute(
                text(
                    "LOCK TABLE action_reports, action_states, daily_progress"
                    " IN EXCLUSIVE MODE"
                )
            )
            try:
                yield
            finally:
                conn.rollback()
    finally:
        engine.dispose()


def waiting_on_locks(url: str) -> list[int]:
    """PostgreSQL backends of this database that wait for a lock."""
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            return list(
                conn.scalars(
                    text(
                        "SELECT pid FROM pg_stat_activity"
                        " WHERE datname = current_database()"
                        " AND wait_event_type = 'Lock'"
                        " AND pid <> pg_backend_pid()"
                    )
                )
            )
    finally:
        engine.dispose()


def terminate(url: str, pids: list[int]) -> None:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            for pid in pids:
                conn.execute(
                    text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}
                )
    finally:
        engine.dispose()
