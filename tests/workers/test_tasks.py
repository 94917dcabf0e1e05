"""The Celery tasks, run in the test process on the fixtures' services."""

from datetime import datetime, timedelta

import pytest
from celery import signals
from sqlalchemy import delete, select, update

from core import queue
from core.days import today
from core.models import DailyProgress
from core.ranks import Ranks
from core.settings import Settings
from workers import tasks


@pytest.fixture
def task_services(monkeypatch, services):
    monkeypatch.setattr(tasks, "services", lambda: services)
    return services


def before_today(now: datetime) -> str:
    """A time on a past local day in any zone, DST or not."""
    return (now - timedelta(hours=36)).isoformat()


def report(user, kind: str, target: int, **body) -> None:
    response = user.post(
        f"/api/users/{kind}s/{target}/complete/", json=body or None
    )
    assert response.status_code == 202, response.text


def today_row(world, user):
    with world.db.reading() as session:
        return session.scalars(
            select(DailyProgress).where(
                DailyProgress.user_id == user.id,
                DailyProgress.day == today(user.timezone),
            )
        ).one_or_none()


def test_drain_reports_applies_queued_reports_and_empties_the_queue(
    world, task_services
):
    user = world.user(timezone="Asia/Kolkata")
    walk = user.select_action(world.action())
    stretch = user.custom_action()
    report(user, "action", walk)
    report(user, "customaction", stretch, state="snoozed", length="10m")
    assert world.backlog() == 2

    result = tasks.drain_reports.run()

    assert result == {"applied": 2, "buried": 0}
    assert world.backlog() == 0
    latest = user.get("/api/users/progress/latest/").json
    assert latest["actions_completed"] == 1
    assert latest["customactions_snoozed"] == 1
    assert latest["engagement_15_days"] == 50.0


def test_drain_reports_runs_eagerly_through_celery(world, task_services):
    user = world.user()
    walk = user.select_action(world.action())
    report(user, "action", walk)

    result = tasks.drain_reports.apply()

    assert result.successful()
    assert result.get() == {"applied": 1, "buried": 0}
    assert world.backlog() == 0


def test_drain_reports_with_an_empty_queue_applies_nothing(
    world, task_services
):
    assert tasks.drain_reports.run() == {"applied": 0, "buried": 0}


class Crash(Exception):
    """The worker process dying at a given step."""


def crash_on_ack(redis, entry_ids):
    if entry_ids:
        raise Crash


def test_a_batch_committed_but_not_acknowledged_counts_once(
    world, task_services, monkeypatch
):
    user = world.user()
    walk = user.select_action(world.action())
    report(user, "action", walk)

    # The worker dies between the commit and the acknowledgement ...
    with monkeypatch.context() as patched:
        patched.setattr(queue, "ack", crash_on_ack)
        with pytest.raises(Crash):
            tasks.drain_reports.run()
    assert world.backlog() == 1
    # ... and another worker claims the entry once it has waited enough.
    monkeypatch.setattr(queue, "CLAIM_AFTER_MS", 0)
    monkeypatch.setattr(tasks, "consumer_name", lambda: "another-worker")

    assert tasks.drain_reports.run() == {"applied": 1, "buried": 0}

    assert world.backlog() == 0
    latest = user.get("/api/users/progress/latest/").json
    assert latest["actions_completed"] == 1
    assert latest["engagement_15_days"] == 100.0


def test_drain_reports_buries_a_malformed_entry_and_applies_the_rest(
    world, task_services
):
    user = world.user()
    walk = user.select_action(world.action())
    task_services.broker.xadd(queue.STREAM, {"user": "not a number"})
    report(user, "action", walk)

    result = tasks.drain_reports.run()

    assert result == {"applied": 1, "buried": 1}
    assert world.backlog() == 0
    assert task_services.broker.xlen(queue.DEAD) == 1
    latest = user.get("/api/users/progress/latest/").json
    assert latest["actions_completed"] == 1


def test_recompute_engagement_stores_it_on_a_new_row_for_today(
    world, task_services, now
):
    keen = world.user("keen@example.org", "Pacific/Auckland")
    idle = world.user("idle@example.org", "America/Denver")
    for user, state in ((keen, "completed"), (idle, "dismissed")):
        walk = user.select_action(world.action())
        report(
            user, "action", walk, state=state, occurred_at=before_today(now)
        )
    world.drain()
    # Today's rows and the rank set go; the recorded states stay.
    rows = [today_row(world, user).id for user in (keen, idle)]
    world.db.write(
        lambda s: s.execute(
            delete(DailyProgress).where(DailyProgress.id.in_(rows))
        )
    )
    Ranks(task_services.redis).clear()

    result = tasks.recompute_engagement.run()

    assert result == {"users": 2}
    assert today_row(world, keen).engagement_15_days == 100.0
    assert today_row(world, keen).engagement_60_days == 100.0
    assert today_row(world, idle).engagement_15_days == 0.0
    ranks = Ranks(task_services.redis)
    assert ranks.size() == 2
    assert ranks.percentiles([keen.id, idle.id]) == {
        keen.id: 50.0,
        idle.id: 0.0,
    }


def test_recompute_engagement_overwrites_a_stale_value(world, task_services):
    user = world.user()
    walk = user.select_action(world.action())
    report(user, "action", walk)
    world.drain()
    world.db.write(
        lambda s: s.execute(
            update(DailyProgress)
            .where(DailyProgress.user_id == user.id)
            .values(engagement_15_days=0.0, engagement_30_days=0.0)
        )
    )

    tasks.recompute_engagement.run()

    row = today_row(world, user)
    assert (row.engagement_15_days, row.engagement_30_days) == (100.0, 100.0)


def test_services_are_built_once_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'x.sqlite3'}")
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)
    monkeypatch.setattr(tasks, "_services", None)

    built = tasks.services()

    assert tasks.services() is built
    assert built.settings == Settings.from_env()
    assert built.broker is built.redis
    built.db.dispose()


def test_a_new_worker_process_builds_its_own_connections(monkeypatch):
    monkeypatch.setattr(tasks, "_services", object())

    signals.worker_process_init.send(sender=None)

    assert tasks._services is None
