"""A worker killed with SIGKILL in the middle of a batch, twice.

First before its transaction commits (the batch must not be lost), then
after the commit but before the acknowledgement (the batch is applied a
second time, which must change nothing). The database lock and a pause
of Redis writes hold the worker at each of those two points, so the
kill lands exactly there, whatever the machine's speed.
"""

import random
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.faults.support import (
    Outcome,
    check_rows,
    make_users,
    minutes_ago,
    pending,
    reports_in_sql,
    wait_drained,
    write_lock,
)
from tests.integration.stack import wait_until

pytestmark = pytest.mark.faults

ZONES = (
    "UTC",
    "Asia/Tokyo",
    "America/Los_Angeles",
    "Europe/Berlin",
    "Australia/Sydney",
    "Pacific/Kiritimati",
)
STATES = ("completed", "snoozed", "dismissed", "uncompleted")
PER_TARGET = 12


def send_reports(user, targets, outcome: Outcome, seed: int) -> int:
    """Reports on every target over the last five days, in random order."""
    rng = random.Random(seed)
    # Distinct times, so no two reports on one action and day tie.
    minutes = rng.sample(range(1, 5 * 24 * 60), PER_TARGET * len(targets))
    plan = [
        (kind, target, rng.choice(STATES), minutes.pop())
        for kind, target in targets
        for _ in range(PER_TARGET)
    ]
    rng.shuffle(plan)
    for kind, target, state, ago in plan:
        body = {"state": state, "occurred_at": minutes_ago(ago)}
        answer = user.report(kind, target, **body)
        outcome.accept(user, kind, target, body, answer)
    return len(plan)


def unacknowledged(stack) -> dict:
    """Entries still in the stream, and those of them read by a worker."""
    return {"queued": stack.backlog(), "pending": sum(pending(stack).values())}


def test_a_worker_killed_mid_batch_loses_nothing_and_doubles_nothing(
    stack, stack_db
):
    users = make_users(stack, stack_db, *ZONES)
    targets = [
        [("action", user.select_action(a)) for a in stack.actions]
        + [("customaction", user.custom_action(f"Task {n}")) for n in (1, 2)]
        for user in users
    ]
    url = stack.env["DATABASE_URL"]
    outcome = Outcome()
    wait_drained(stack)
    # With no worker running, the reports pile up in the stream.
    stack.processes.stop("celery")
    with ThreadPoolExecutor(max_workers=len(users)) as pool:
        sent = sum(
            pool.map(
                lambda n: send_reports(users[n], targets[n], outcome, n),
                range(len(users)),
            )
        )
    assert stack.backlog() == sent

    # 1. A worker reads a batch and is killed before it can commit it.
    with write_lock(url):
        stack.start_worker()

        def taken():
            seen = {"queued": stack.backlog(), "pending": pending(stack)}
            return bool(seen["pending"]) or seen["queued"] < sent, seen

        wait_until(taken, "a worker to read a batch")
        stack.processes.kill("celery")
    assert unacknowledged(stack) == {"queued": sent, "pending": sent}
    assert reports_in_sql(stack_db, users) == 0
    dead = set(pending(stack))

    # 2. The next worker claims the dead one's entries and commits them,
    # but Redis takes no writes, so it is killed before acknowledging.
    with write_lock(url):
        stack.start_worker()
        wait_until(
            lambda: (set(pending(stack)) - dead, pending(stack)),
            "a new worker to claim the dead worker's entries",
        )
        stack.redis.execute_command("CLIENT", "PAUSE", 20_000, "WRITE")
    try:
        wait_until(
            lambda: reports_in_sql(stack_db, users) == sent,
            "the claimed batch to be committed",
        )
        stack.processes.kill("celery")
    finally:
        stack.redis.execute_command("CLIENT", "UNPAUSE")
    assert unacknowledged(stack) == {"queued": sent, "pending": sent}

    # 3. A third worker claims the committed batch and applies it again.
    stack.start_worker()
    wait_drained(stack, "the third worker to apply and acknowledge it all")

    assert reports_in_sql(stack_db, users) == sent
    for user in users:
        check_rows(user, outcome)
