from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from core import pipeline, queue, streaks
from core.days import today
from core.models import ActionReport
from core.ranks import Ranks
from core.reports import Report, build_report
from tests.core.support import person, record, row


def send(world, user, target, now, kind="action", **body):
    found = build_report(
        body,
        user_id=user.id,
        kind=kind,
        target_id=target,
        zone=user.timezone,
        now=now,
    )
    queue.enqueue_report(world.services.broker, found)
    return found


@pytest.fixture
def user(world):
    someone = person(world, "Asia/Kathmandu")
    someone.ua = someone.select_action(world.action("Walk"))
    someone.ua2 = someone.select_action(world.action("Read"))
    someone.ca = someone.custom_action()
    return someone


def snapshot(db, user_id, day):
    found = row(db, user_id, day)
    return (
        found.actions_completed,
        found.actions_snoozed,
        found.actions_dismissed,
        found.customactions_completed,
        found.customactions_snoozed,
        found.customactions_dismissed,
    )


def test_drain_applies_queued_reports_and_empties_the_queue(
    world, db, user, now
):
    first = send(world, user, user.ua, now)
    send(world, user, user.ua2, now, state="snoozed")
    send(world, user, user.ca, now, kind="customaction", state="dismissed")
    outcome = world.drain()
    assert (outcome.applied, outcome.buried) == (3, 0)
    assert world.backlog() == 0
    assert snapshot(db, user.id, first.day) == (1, 1, 0, 0, 0, 1)


def test_drain_applies_the_newest_report_whatever_the_arrival_order(
    world, db, user, now
):
    send(world, user, user.ua, now, state="dismissed")
    earlier = (now - timedelta(minutes=10)).isoformat()
    day = send(world, user, user.ua, now, occurred_at=earlier).day
    world.drain()
    assert snapshot(db, user.id, day)[:3] == (0, 0, 1)


def test_drain_in_separate_batches_gives_the_same_counters(
    world, db, user, now
):
    send(world, user, user.ua, now - timedelta(minutes=5))
    day = send(world, user, user.ua, now, state="snoozed").day
    world.drain()
    assert snapshot(db, user.id, day)[:3] == (0, 1, 0)
    send(world, user, user.ua, now + timedelta(minutes=1))
    world.drain()
    assert snapshot(db, user.id, day)[:3] == (1, 0, 0)


def test_drain_stores_engagement_on_todays_row(world, db, user, now):
    send(world, user, user.ua, now)
    send(world, user, user.ua2, now, state="snoozed")
    send(world, user, user.ca, now, kind="customaction")
    world.drain()
    today_row = row(db, user.id, today(user.timezone))
    assert today_row.engagement_15_days == 66.67
    assert today_row.engagement_60_days == 66.67


def test_drain_pushes_ranks_and_stores_them_on_the_rows(
    world, db, now, services
):
    users = [person(world) for _ in range(3)]
    for n, someone in enumerate(users):
        mine = someone.select_action(world.action(f"A{n}"))
        other = someone.select_action(world.action(f"B{n}"))
        send(world, someone, mine, now)
        state = ("dismissed", "completed", "completed")[n]
        send(world, someone, other, now, state=state)
    world.drain()
    live = Ranks(services.redis).percentiles([u.id for u in users])
    assert live == {users[0].id: 0.0, users[1].id: 33.33, users[2].id: 33.33}
    # Each batch stores the rank it saw; the last writer saw everyone.
    assert row(db, users[2].id, today("UTC")).engagement_rank == 33.33


def test_drain_keeps_the_streak_cache_up_to_date(
    world, db, user, now, services
):
    cache = streaks.StreakCache(services.redis)
    last = today(user.timezone)
    with db.reading() as session:
        assert streaks.read_counts(cache, session, user.id, last) == {last: 0}
    day = send(world, user, user.ua, now).day
    send(world, user, user.ca, now, kind="customaction")
    world.drain()
    assert cache.get(user.id)[day] == 2


def test_applying_the_same_entries_twice_changes_nothing(
    world, db, user, now, services
):
    day = send(world, user, user.ua, now - timedelta(minutes=1)).day
    send(world, user, user.ua, now, state="snoozed")
    send(world, user, user.ca, now, kind="customaction")
    entries = services.broker.xrange(queue.STREAM)
    pipeline.apply_entries(db, services.broker, services.redis, entries)
    before = snapshot(db, user.id, day)
    pipeline.apply_entries(db, services.broker, services.redis, entries)
    pipeline.apply_entries(db, services.broker, services.redis, entries[:1])
    assert snapshot(db, user.id, day) == before == (0, 1, 0, 1, 0, 0)
    with db.reading() as session:
        kept = session.scalar(select(func.count()).select_from(ActionReport))
    assert kept == 3


def test_entries_redelivered_after_a_crash_before_the_ack_change_nothing(
    world, db, user, now, monkeypatch
):
    day = send(world, user, user.ua, now).day
    send(world, user, user.ua2, now, state="dismissed")

    acknowledge = queue.ack

    def crash(redis, entry_ids):
        if entry_ids:
            raise RuntimeError("worker died before acknowledging")
        acknowledge(redis, entry_ids)

    with monkeypatch.context() as patched:
        patched.setattr(queue, "ack", crash)
        with pytest.raises(RuntimeError):
            world.drain()
    assert world.backlog() == 2
    after_first = snapshot(db, user.id, day)

    assert world.drain().applied == 2
    assert world.backlog() == 0
    assert snapshot(db, user.id, day) == after_first == (1, 0, 1, 0, 0, 0)


def test_a_malformed_entry_is_buried_and_the_others_applied(
    world, db, user, now, services
):
    day = send(world, user, user.ua, now).day
    services.broker.xadd(queue.STREAM, {"user": "x", "kind": "action"})
    outcome = world.drain()
    assert (outcome.applied, outcome.buried) == (1, 1)
    assert services.broker.xlen(queue.DEAD) == 1
    assert snapshot(db, user.id, day)[0] == 1


def test_a_report_that_cannot_be_applied_is_buried_alone(
    world, db, user, now, services
):
    day = send(world, user, user.ua, now).day
    ghost = build_report(
        {}, user_id=99_999, kind="action", target_id=1, zone="UTC", now=now
    )
    queue.enqueue_report(services.broker, ghost)
    send(world, user, user.ca, now, kind="customaction")
    outcome = world.drain()
    assert (outcome.applied, outcome.buried) == (2, 1)
    assert world.backlog() == 0
    (_, dead), *_ = services.broker.xrange(queue.DEAD)
    assert Report.from_fields(dead).user_id == 99_999
    assert snapshot(db, user.id, day) == (1, 0, 0, 1, 0, 0)


def test_after_a_short_batch_drain_waits_and_takes_what_came(
    world, user, now, services, monkeypatch
):
    send(world, user, user.ua, now)
    waits, batches = [], []
    apply_entries = pipeline.apply_entries

    def counted(db, broker, redis, entries):
        batches.append(len(entries))
        return apply_entries(db, broker, redis, entries)

    def wait(seconds):
        waits.append(seconds)
        if len(waits) == 1:  # reports arriving meanwhile
            send(world, user, user.ua2, now, state="snoozed")
            send(world, user, user.ca, now, kind="customaction")

    monkeypatch.setattr(pipeline, "apply_entries", counted)
    monkeypatch.setattr(pipeline.time, "sleep", wait)
    outcome = pipeline.drain(
        services.db, services.broker, services.redis, "c", gather=0.1
    )
    assert outcome.applied == 3
    assert batches == [1, 2]
    assert waits == [pytest.approx(0.1)] * 2
    assert snapshot(services.db, user.id, today(user.timezone)) == (
        1, 1, 0, 1, 0, 0
    )  # fmt: skip


def test_drain_of_an_empty_queue_applies_nothing(world):
    assert world.drain().applied == 0


# The periodic recompute.

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def test_recompute_all_writes_todays_row_for_every_active_user(
    world, db, services
):
    east = person(world, "Pacific/Kiritimati")  # today 2025-06-02
    west = person(world, "America/St_Johns")  # today 2025-06-01
    idle = person(world)
    record(db, east.id, date(2025, 5, 30), "completed")
    record(db, west.id, date(2025, 5, 10), "completed")
    record(db, west.id, date(2025, 5, 31), "uncompleted")
    assert pipeline.recompute_all(db, services.redis, NOW) == 2
    east_row = row(db, east.id, date(2025, 6, 2))
    west_row = row(db, west.id, date(2025, 6, 1))
    assert east_row.engagement_15_days == 100.0
    assert (west_row.engagement_15_days, west_row.engagement_30_days) == (
        0.0,
        50.0,
    )
    assert row(db, idle.id, date(2025, 6, 1)) is None
    # Two ranked users: east is above west.
    assert (east_row.engagement_rank, west_row.engagement_rank) == (
        50.0,
        0.0,
    )


def test_recompute_all_rolls_the_day_over_and_keeps_past_rows(
    world, db, services
):
    user = person(world)
    record(db, user.id, date(2025, 5, 31), "completed")
    pipeline.recompute_all(db, services.redis, NOW - timedelta(days=1))
    record(db, user.id, date(2025, 6, 1), "dismissed")
    pipeline.recompute_all(db, services.redis, NOW)
    assert row(db, user.id, date(2025, 5, 31)).engagement_15_days == 100.0
    assert row(db, user.id, date(2025, 6, 1)).engagement_15_days == 50.0


def test_recompute_all_drops_users_whose_window_has_passed(
    world, db, services
):
    stale, fresh = person(world), person(world)
    record(db, stale.id, date(2025, 5, 1), "completed")
    record(db, fresh.id, date(2025, 6, 1), "dismissed")
    pipeline.recompute_all(
        db, services.redis, datetime(2025, 5, 2, 12, 0, tzinfo=UTC)
    )
    ranks = Ranks(services.redis)
    assert ranks.size() == 1
    pipeline.recompute_all(db, services.redis, NOW)
    assert ranks.size() == 1
    assert ranks.percentiles([stale.id, fresh.id], NOW) == {
        stale.id: 0.0,
        fresh.id: 0.0,
    }


def test_recompute_all_without_redis_still_stores_engagement(world, db):
    user = person(world)
    record(db, user.id, date(2025, 6, 1), "completed")
    assert pipeline.recompute_all(db, None, NOW) == 1
    assert row(db, user.id, date(2025, 6, 1)).engagement_15_days == 100.0


def test_rank_follows_a_user_who_moved_west_to_an_earlier_date(
    db, redis, world
):
    """After a move from UTC+14 to UTC-11, 'today' is two dates earlier;
    the engagement stored then must still replace the older score."""
    from core import accounts
    from core.queue import enqueue_report
    from core.ranks import Ranks
    from core.reports import build_report

    user = world.user("west@example.org", "Pacific/Kiritimati")
    other = world.user("stay@example.org", "UTC")
    walk = user.select_action(world.action("Walk"))
    read = user.select_action(world.action("Read"))
    mine = other.select_action(world.action("Sit"))

    def report(who, target, state, zone):
        enqueue_report(
            redis,
            build_report(
                {"state": state},
                user_id=who.id,
                kind="action",
                target_id=target,
                zone=zone,
            ),
        )

    report(other, mine, "completed", "UTC")
    report(user, walk, "dismissed", "Pacific/Kiritimati")
    world.drain()
    assert Ranks(redis).percentile(user.id) == 0.0

    db.write(lambda s: accounts.set_timezone(s, user.id, "Pacific/Niue"))
    report(user, read, "completed", "Pacific/Niue")
    world.drain()
    assert Ranks(redis).percentile(user.id) == 0.0  # 50 % vs 100 %
    report(user, walk, "completed", "Pacific/Niue")
    world.drain()
    # 100 % now, equal to the other user's: still nobody strictly lower
    # than the other, and the other is not lower than this user.
    assert float(redis.zscore("dp:rank", user.id)) == 100.0
