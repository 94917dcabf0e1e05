"""Reports delivered twice, and reports arriving out of order.

A state only replaces one with an older (occurred_at, place in the
stream), so applying a report again, or applying an older one after a
newer one, must leave the newest report's state and counters.
"""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from core import pipeline, queue
from core.models import ActionState
from core.queue import GROUP, STREAM
from core.reports import Report, build_report
from tests.faults.support import (
    counters,
    make_users,
    minutes_ago,
    pending,
    reports_in_sql,
    wait_drained,
)

pytestmark = pytest.mark.faults


def a_zone_past_its_small_hours() -> str:
    """A zone where the last three hours all fall on today."""
    for zone in ("UTC", "Asia/Tokyo", "America/Los_Angeles"):
        local = datetime.now(UTC).astimezone(ZoneInfo(zone))
        if local.hour >= 3:
            return zone
    raise AssertionError("three zones 8 hours apart are all before 3 a.m.")


def fields(user, kind: str, target: int, state: str, minutes: float):
    """A stream entry exactly as the API queues it."""
    report = build_report(
        {"state": state, "occurred_at": minutes_ago(minutes)},
        user_id=user.id,
        kind=kind,
        target_id=target,
        zone=user.timezone,
    )
    return report.to_fields()


def deliver(stack, consumer: str, entries: list[dict]) -> list:
    """Queue entries and read them at once under `consumer`, atomically,
    so that no running worker sees them first."""
    queue.ensure_group(stack.redis)
    with stack.redis.pipeline(transaction=True) as pipe:
        for entry in entries:
            pipe.xadd(STREAM, entry)
        pipe.xreadgroup(GROUP, consumer, {STREAM: ">"}, count=100)
        *ids, read = pipe.execute()
    delivered = read[0][1]
    assert [entry_id for entry_id, _ in delivered] == ids
    return delivered


def recorded(db, user) -> dict:
    with db.reading() as session:
        rows = session.execute(
            select(
                ActionState.kind,
                ActionState.target_id,
                ActionState.state,
                ActionState.occurred_at,
            ).where(ActionState.user_id == user.id)
        )
        return {
            (kind, target): (state, at) for kind, target, state, at in rows
        }


def test_redelivered_repeated_and_late_reports_leave_the_newest_state(
    stack, stack_db, monkeypatch
):
    (user,) = make_users(stack, stack_db, a_zone_past_its_small_hours())
    walk, read = (user.select_action(action) for action in stack.actions)
    stretch = user.custom_action()
    newest = [
        fields(user, "action", walk, "completed", 30),
        fields(user, "action", read, "snoozed", 40),
        fields(user, "customaction", stretch, "dismissed", 50),
    ]
    wait_drained(stack)

    # A worker applies three reports, commits, and dies before it
    # acknowledges them: here the test plays that worker.
    entries = deliver(stack, "doomed-worker", newest)
    with monkeypatch.context() as patch:
        patch.setattr(queue, "ack", lambda *_: None)
        pipeline.apply_entries(stack_db, stack.redis, stack.redis, entries)
    assert pending(stack) == {"doomed-worker": 3}
    # A live worker claims them once they are idle, and applies them again.
    wait_drained(stack, "a worker to claim and acknowledge them")

    # The same reports queued again, as a client retrying would.
    for entry in newest:
        stack.redis.xadd(STREAM, entry)
    wait_drained(stack, "the repeated reports")

    # Older reports arriving late, as from a client that was offline.
    for kind, target, state, minutes in (
        ("action", walk, "dismissed", 60),
        ("action", read, "completed", 70),
        ("customaction", stretch, "completed", 80),
    ):
        user.report(
            kind, target, state=state, occurred_at=minutes_ago(minutes)
        )
    wait_drained(stack, "the late reports")

    latest = user.latest()
    assert counters(latest) == {
        "actions_completed": 1,
        "actions_snoozed": 1,
        "actions_dismissed": 0,
        "customactions_completed": 0,
        "customactions_snoozed": 0,
        "customactions_dismissed": 1,
    }
    assert latest["engagement_15_days"] == 33.33
    sent = [Report.from_fields(entry) for entry in newest]
    assert recorded(stack_db, user) == {
        (report.kind, report.target_id): (report.state, report.occurred_at)
        for report in sent
    }
    # Every report is kept once, the redelivered ones too.
    assert reports_in_sql(stack_db, [user]) == 9
    assert user.streaks()["results"][-1]["count"] == 1

    # A newer report still replaces the recorded state.
    user.report("customaction", stretch, occurred_at=minutes_ago(5))
    latest = user.wait_for_today(
        "the newer completion to replace the dismissal",
        customactions_completed=1,
        customactions_dismissed=0,
    )
    wait_drained(stack)
    assert latest["engagement_15_days"] == 66.67
    assert user.streaks()["results"][-1]["count"] == 2
