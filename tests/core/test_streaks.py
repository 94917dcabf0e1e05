import logging
from datetime import UTC, date, timedelta

import fakeredis
import pytest
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy import update

from core.days import day_start
from core.models import DailyProgress
from core.progress import ensure_rows, write_fields
from core.reports import build_report
from core.streaks import (
    BUILT,
    LOOKBACK,
    StreakCache,
    counts_from_sql,
    current_streak,
    key,
    read_counts,
    refresh,
    rows_for_cache,
    series,
)
from tests.core.support import apply, closed_port_redis, person, row

TODAY = date(2025, 6, 4)  # a Wednesday


def days_before(n: int) -> date:
    return TODAY - timedelta(days=n)


# The series of days.


def test_series_holds_exactly_n_days_oldest_first_ending_today():
    found = series({}, TODAY, 7)
    assert [d["date"] for d in found] == [
        "2025-05-29",
        "2025-05-30",
        "2025-05-31",
        "2025-06-01",
        "2025-06-02",
        "2025-06-03",
        "2025-06-04",
    ]
    assert [d["day"] for d in found] == [
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
        "Monday",
        "Tuesday",
        "Wednesday",
    ]


def test_series_fills_days_without_a_count_with_zero():
    counts = {TODAY: 4, days_before(2): 1, days_before(9): 7}
    found = series(counts, TODAY, 3)
    assert [d["count"] for d in found] == [1, 0, 4]


def test_series_of_one_day_is_today():
    assert series({TODAY: 2}, TODAY, 1) == [
        {"date": "2025-06-04", "day": "Wednesday", "count": 2}
    ]


def test_series_of_a_whole_year_crosses_a_leap_day():
    found = series({}, date(2024, 12, 31), 366)
    assert len(found) == 366
    assert found[0]["date"] == "2024-01-01"
    assert "2024-02-29" in [d["date"] for d in found]


# The current streak.


def test_streak_counts_days_in_a_row_ending_today():
    counts = {TODAY: 1, days_before(1): 3, days_before(2): 1}
    assert current_streak(counts, TODAY) == 3


def test_streak_ends_yesterday_when_today_has_none_yet():
    counts = {TODAY: 0, days_before(1): 2, days_before(2): 1}
    assert current_streak(counts, TODAY) == 2
    assert current_streak({days_before(1): 2}, TODAY) == 1


def test_streak_is_broken_by_a_day_without_completions():
    counts = {TODAY: 1, days_before(1): 0, days_before(2): 5}
    assert current_streak(counts, TODAY) == 1


def test_streak_is_zero_when_neither_today_nor_yesterday_counts():
    assert current_streak({days_before(2): 5}, TODAY) == 0
    assert current_streak({}, TODAY) == 0


def test_streak_looks_back_at_most_366_days():
    counts = {days_before(n): 1 for n in range(500)}
    assert current_streak(counts, TODAY) == LOOKBACK == 366
    from_yesterday = {days_before(n): 1 for n in range(1, 500)}
    assert current_streak(from_yesterday, TODAY) == 366


# The cache.


@pytest.fixture
def cache(redis) -> StreakCache:
    return StreakCache(redis)


def test_cache_without_the_built_marker_reads_as_missing(cache, redis):
    cache.put(1, [(TODAY, 1, 3)])
    assert cache.get(1) is None
    cache.put(1, [], built=True)
    assert cache.get(1) == {TODAY: 3}
    assert redis.ttl(key(1)) > 0


def test_cache_keeps_the_count_of_the_newer_version(cache):
    cache.put(1, [(TODAY, 5, 3)], built=True)
    cache.put(1, [(TODAY, 4, 1)])
    assert cache.get(1) == {TODAY: 3}
    cache.put(1, [(TODAY, 5, 1)])
    assert cache.get(1) == {TODAY: 3}
    cache.put(1, [(TODAY, 6, 0)])
    assert cache.get(1) == {TODAY: 0}


def test_cache_keeps_users_apart(cache):
    cache.put_many({1: [(TODAY, 1, 3)], 2: [(TODAY, 1, 8)]})
    cache.put(1, [], built=True)
    cache.put(2, [], built=True)
    assert cache.get(1) == {TODAY: 3}
    assert cache.get(2) == {TODAY: 8}


def test_clear_empties_every_users_cache(cache, redis):
    cache.put(1, [(TODAY, 1, 3)], built=True)
    cache.put(2, [(TODAY, 1, 3)], built=True)
    redis.set("other", "kept")
    cache.clear()
    assert cache.get(1) is None and cache.get(2) is None
    assert redis.get("other") == b"kept"


# Counts from SQL, and the cache built from them.


@pytest.fixture
def user(world):
    return person(world)


def put_row(db, user_id, day, completed, custom=0):
    def work(session):
        ensure_rows(session, [(user_id, day)])
        session.execute(
            update(DailyProgress)
            .where(DailyProgress.user_id == user_id, DailyProgress.day == day)
            .values(
                actions_completed=completed,
                customactions_completed=custom,
                version=DailyProgress.version + 1,
            )
        )

    db.write(work)


def test_counts_from_sql_add_both_kinds_of_completions(db, user):
    put_row(db, user.id, TODAY, 2, custom=3)
    put_row(db, user.id, days_before(1), 0, custom=1)
    with db.reading() as session:
        found = counts_from_sql(session, user.id, TODAY)
    assert {day: count for day, (_, count) in found.items()} == {
        TODAY: 5,
        days_before(1): 1,
    }
    assert found[TODAY][0] == row(db, user.id, TODAY).version


def test_counts_from_sql_cover_the_lookback_and_no_more(db, user):
    put_row(db, user.id, days_before(366), 1)
    put_row(db, user.id, days_before(367), 1)
    with db.reading() as session:
        found = counts_from_sql(session, user.id, TODAY)
    assert set(found) == {days_before(366)}


def test_read_counts_builds_the_cache_from_sql_when_missing(db, user, cache):
    put_row(db, user.id, TODAY, 2)
    put_row(db, user.id, days_before(1), 1)
    with db.reading() as session:
        first = read_counts(cache, session, user.id, TODAY)
    assert first == {TODAY: 2, days_before(1): 1}
    assert cache.get(user.id) == first

    # Now served from the cache: a change SQL alone knows is not seen...
    put_row(db, user.id, days_before(2), 9)
    with db.reading() as session:
        assert read_counts(cache, session, user.id, TODAY) == first

    # ... until the marker is gone and the cache is rebuilt.
    cache._redis.hdel(key(user.id), BUILT)
    with db.reading() as session:
        rebuilt = read_counts(cache, session, user.id, TODAY)
    assert rebuilt == {**first, days_before(2): 9}


def test_read_counts_rebuild_does_not_overwrite_a_newer_cached_count(
    db, user, cache
):
    put_row(db, user.id, TODAY, 2)
    version = row(db, user.id, TODAY).version
    cache.put(user.id, [(TODAY, version + 1, 7)])
    with db.reading() as session:
        assert read_counts(cache, session, user.id, TODAY) == {TODAY: 2}
    assert cache.get(user.id) == {TODAY: 7}


def test_read_counts_without_a_cache_reads_sql(db, user):
    put_row(db, user.id, TODAY, 4)
    with db.reading() as session:
        assert read_counts(None, session, user.id, TODAY) == {TODAY: 4}


def broken_redis():
    server = fakeredis.FakeServer()
    server.connected = False
    return fakeredis.FakeRedis(server=server)


@pytest.mark.parametrize("client", [broken_redis, closed_port_redis])
def test_read_counts_falls_back_to_sql_when_redis_is_down(
    db, user, client, caplog
):
    put_row(db, user.id, TODAY, 4)
    put_row(db, user.id, days_before(1), 1)
    cache = StreakCache(client())
    with caplog.at_level(logging.WARNING), db.reading() as session:
        found = read_counts(cache, session, user.id, TODAY)
    assert found == {TODAY: 4, days_before(1): 1}
    assert "streak cache unreachable" in caplog.text


def test_read_counts_answers_from_sql_when_only_the_write_fails(
    db, user, redis, monkeypatch
):
    put_row(db, user.id, TODAY, 4)
    cache = StreakCache(redis)

    def refuse(*args, **kwargs):
        raise RedisConnectionError("gone")

    monkeypatch.setattr(cache, "put", refuse)
    with db.reading() as session:
        assert read_counts(cache, session, user.id, TODAY) == {TODAY: 4}


def test_refresh_puts_the_rows_current_counts_in_the_cache(db, user, cache):
    put_row(db, user.id, TODAY, 1)
    cache.put(user.id, [], built=True)
    put_row(db, user.id, TODAY, 3, custom=2)
    with db.reading() as session:
        refresh(cache, session, [(user.id, TODAY)])
    assert cache.get(user.id) == {TODAY: 5}


def test_refresh_after_a_correction_to_zero_shows_zero(db, user, cache):
    put_row(db, user.id, TODAY, 3)
    with db.reading() as session:
        read_counts(cache, session, user.id, TODAY)
    row_id = row(db, user.id, TODAY).id
    db.write(lambda s: write_fields(s, row_id, {"actions_completed": 0}, None))
    with db.reading() as session:
        refresh(cache, session, [(user.id, TODAY)])
        assert read_counts(cache, session, user.id, TODAY) == {TODAY: 0}


def test_refresh_when_redis_is_down_does_not_raise(db, user):
    put_row(db, user.id, TODAY, 1)
    with db.reading() as session:
        refresh(StreakCache(broken_redis()), session, [(user.id, TODAY)])


def test_rows_for_cache_groups_rows_by_user(db, world):
    first, second = person(world), person(world)
    put_row(db, first.id, TODAY, 1)
    put_row(db, first.id, days_before(1), 2)
    put_row(db, second.id, TODAY, 0, custom=4)
    with db.reading() as session:
        found = rows_for_cache(
            session,
            [
                (first.id, TODAY),
                (first.id, days_before(1)),
                (second.id, TODAY),
            ],
        )
    assert {
        user_id: sorted((day, count) for day, _, count in found_rows)
        for user_id, found_rows in found.items()
    } == {
        first.id: [(days_before(1), 2), (TODAY, 1)],
        second.id: [(TODAY, 4)],
    }


@pytest.mark.parametrize(
    "zone, days",
    [
        # 2025-03-09 has no midnight in Havana; 2025-11-02 has two.
        ("America/Havana", (date(2025, 3, 8), date(2025, 3, 9))),
        ("America/Havana", (date(2025, 11, 1), date(2025, 11, 2))),
        ("America/Santiago", (date(2025, 9, 6), date(2025, 9, 7))),
        ("Europe/Berlin", (date(2025, 3, 29), date(2025, 3, 30))),
        ("Australia/Lord_Howe", (date(2025, 4, 5), date(2025, 4, 6))),
    ],
)
def test_streak_is_not_broken_by_a_daylight_saving_change(
    db, world, zone, days
):
    user = person(world, zone)
    target = user.custom_action()
    batch = []
    for n, day in enumerate((*days, days[-1] + timedelta(days=1)), 1):
        # The first and the last instant of each local day.
        for edge, instant in enumerate(
            (
                day_start(day, zone),
                day_start(day + timedelta(days=1), zone)
                - timedelta(microseconds=1),
            )
        ):
            now = instant.replace(tzinfo=UTC)
            found = build_report(
                {},
                user_id=user.id,
                kind="customaction",
                target_id=target + edge * 1000,
                zone=zone,
                now=now,
            )
            assert found.day == day
            batch.append((n * 10 + edge, found))
    apply(db, batch)
    last = days[-1] + timedelta(days=1)
    with db.reading() as session:
        counts = read_counts(None, session, user.id, last)
    assert [counts.get(day) for day in (*days, last)] == [2, 2, 2]
    assert current_streak(counts, last) == 3
