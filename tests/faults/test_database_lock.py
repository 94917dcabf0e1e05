"""The database locked, or its connections cut, while a batch is applied.

On SQLite the test holds the write lock for longer than one attempt of
the worker (SQLITE_BUSY_TIMEOUT is 1 second here); on PostgreSQL it
locks the tables the batch writes and terminates the worker's waiting
connections. Either way the worker logs a transient error, retries with
backoff, and applies each report once the database is back.
"""

import pytest

from tests.faults.support import (
    Outcome,
    check_rows,
    log_lines,
    make_users,
    minutes_ago,
    reports_in_sql,
    terminate,
    wait_drained,
    waiting_on_locks,
    write_lock,
)
from tests.integration.stack import wait_until

pytestmark = pytest.mark.faults

TRANSIENT = "transient database error, retrying"


def test_a_locked_database_delays_reports_then_each_applies_once(
    stack, stack_db
):
    users = make_users(stack, stack_db, "UTC", "Asia/Tokyo")
    targets = [
        [("action", user.select_action(a)) for a in stack.actions]
        + [("customaction", user.custom_action())]
        for user in users
    ]
    url = stack.env["DATABASE_URL"]
    wait_drained(stack)
    warned = log_lines(stack, "celery", TRANSIENT)
    outcome = Outcome()

    with write_lock(url):
        for user, mine in zip(users, targets, strict=True):
            for (kind, target), state in zip(
                mine, ("completed", "snoozed", "completed"), strict=True
            ):
                body = {"state": state, "occurred_at": minutes_ago(1)}
                answer = user.report(kind, target, **body)
                outcome.accept(user, kind, target, body, answer)
        if url.startswith("sqlite"):
            wait_until(
                lambda: log_lines(stack, "celery", TRANSIENT) > warned,
                "a worker to give up one attempt on the locked database",
            )
        else:
            blocked = wait_until(
                lambda: waiting_on_locks(url),
                "a worker's connection to wait for the locked tables",
            )
            terminate(url, blocked)
        assert reports_in_sql(stack_db, users) == 0

    wait_until(
        lambda: log_lines(stack, "celery", TRANSIENT) > warned,
        "the worker to log the transient error it retries",
    )
    wait_drained(stack, "the reports held up by the lock")
    assert reports_in_sql(stack_db, users) == 6
    for user in users:
        check_rows(user, outcome)
