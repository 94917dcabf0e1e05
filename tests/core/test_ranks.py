from datetime import UTC, date, datetime, timedelta

import fakeredis
import pytest
from redis.exceptions import RedisError

from core.engagement import Engagement
from core.ranks import (
    RANK,
    STAMP,
    UNTIL,
    Ranks,
    rank_percent,
    reported,
)

TODAY = date(2025, 6, 1)
NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def engaged(user_id, days_15, last_active=TODAY, zone="UTC", day=TODAY):
    return Engagement(
        user_id, zone, day, days_15=days_15, last_active=last_active
    )


def push(ranks, *found: Engagement, version=1):
    ranks.push(
        {e.user_id: e for e in found},
        [(e.user_id, e.day, version, e.days_15) for e in found],
    )


@pytest.fixture
def ranks(redis) -> Ranks:
    return Ranks(redis)


def test_rank_percent_counts_strictly_lower_users():
    assert rank_percent(1, 3) == 33.33
    assert rank_percent(2, 3) == 66.67
    assert rank_percent(0, 4) == 0.0


def test_rank_percent_of_a_user_alone_is_zero():
    assert rank_percent(0, 1) == 0.0
    assert rank_percent(0, 0) == 0.0


def test_reported_rank_is_never_below_the_floor():
    assert reported(0.0, 15.0) == 15.0
    assert reported(33.33, 15.0) == 33.33
    assert reported(15.0, 15.0) == 15.0


def test_ranks_count_users_strictly_lower(ranks):
    push(
        ranks,
        engaged(1, 80.0),
        engaged(2, 50.0),
        engaged(3, 50.0),
        engaged(4, 10.0),
    )
    assert ranks.percentiles([1, 2, 3, 4], NOW) == {
        1: 75.0,
        2: 25.0,
        3: 25.0,
        4: 0.0,
    }
    assert ranks.size() == 4


def test_ranks_of_users_all_tied_are_zero(ranks):
    push(ranks, engaged(1, 40.0), engaged(2, 40.0), engaged(3, 40.0))
    assert ranks.percentiles([1, 2, 3], NOW) == {1: 0.0, 2: 0.0, 3: 0.0}


def test_rank_of_a_user_alone_is_zero(ranks):
    push(ranks, engaged(1, 100.0))
    assert ranks.percentile(1, NOW) == 0.0


def test_rank_of_an_unranked_user_is_zero(ranks):
    push(ranks, engaged(1, 100.0), engaged(2, 0.0))
    assert ranks.percentile(3, NOW) == 0.0
    assert ranks.percentile(1, NOW) == 50.0


def test_ranks_of_nobody_is_empty(ranks):
    assert ranks.percentiles([], NOW) == {}


def test_rank_counts_a_zero_engagement_user_who_reported(ranks):
    # Only dismissals in the window: 0.0, but still ranked.
    push(ranks, engaged(1, 0.0), engaged(2, 25.0))
    assert ranks.size() == 2
    assert ranks.percentile(2, NOW) == 50.0


def test_push_of_a_user_without_recent_states_removes_them(ranks):
    push(ranks, engaged(1, 90.0), engaged(2, 10.0))
    push(ranks, engaged(1, 0.0, last_active=None), version=2)
    assert ranks.size() == 1
    assert ranks.percentile(1, NOW) == 0.0
    assert ranks.percentile(2, NOW) == 0.0


def test_push_of_a_user_last_active_15_days_ago_leaves_them_out(ranks):
    push(ranks, engaged(2, 10.0))
    push(ranks, engaged(1, 90.0, last_active=TODAY - timedelta(days=15)))
    assert ranks.size() == 1
    push(ranks, engaged(3, 90.0, last_active=TODAY - timedelta(days=14)))
    assert ranks.size() == 2


def test_push_ignores_written_rows_of_users_not_measured(ranks):
    ranks.push({}, [(7, TODAY, 1, 50.0)])
    assert ranks.size() == 0


def test_read_prunes_users_whose_15_days_have_passed(ranks, redis):
    push(
        ranks,
        engaged(1, 90.0, last_active=TODAY),
        engaged(2, 50.0, last_active=TODAY - timedelta(days=10)),
        engaged(3, 10.0, last_active=TODAY),
    )
    # User 2 stops being ranked at the start of 2025-05-22 + 15 days.
    just_before = datetime(2025, 6, 5, 23, 59, 59, tzinfo=UTC)
    assert ranks.percentile(1, just_before) == 66.67
    assert ranks.size() == 3

    later = datetime(2025, 6, 6, 0, 0, tzinfo=UTC)
    assert ranks.percentiles([1, 2, 3], later) == {1: 50.0, 2: 0.0, 3: 0.0}
    assert ranks.size() == 2
    assert redis.zscore(UNTIL, "2") is None
    assert redis.hget(STAMP, "2") is None


def test_read_prunes_everyone_far_in_the_future(ranks):
    push(ranks, engaged(1, 90.0), engaged(2, 10.0))
    far = NOW + timedelta(days=400)
    assert ranks.percentiles([1, 2], far) == {1: 0.0, 2: 0.0}
    assert ranks.size() == 0


def test_read_prunes_every_user_whose_window_passed_at_once(ranks):
    # Users whose last state was on one day all stop at one instant.
    old_day = TODAY - timedelta(days=10)
    push(ranks, *(engaged(n, 90.0, last_active=old_day) for n in range(600)))
    push(ranks, engaged(1000, 50.0), engaged(1001, 10.0))
    after = datetime(2025, 6, 6, 0, 0, tzinfo=UTC)
    assert ranks.percentiles([1000, 1001], after) == {1000: 50.0, 1001: 0.0}
    assert ranks.size() == 2


def test_ranked_until_follows_the_users_zone(ranks, redis):
    push(ranks, engaged(1, 90.0, zone="Asia/Kolkata"))
    until = redis.zscore(UNTIL, "1")
    # 2025-06-16 00:00 in Kolkata is 2025-06-15 18:30 UTC.
    assert until == datetime(2025, 6, 15, 18, 30, tzinfo=UTC).timestamp()


def test_an_older_stamp_does_not_overwrite_a_newer_score(ranks, redis):
    push(ranks, engaged(1, 80.0), engaged(2, 40.0), version=5)
    push(ranks, engaged(1, 10.0), version=4)
    assert redis.zscore(RANK, "1") == 80.0
    push(ranks, engaged(1, 10.0), version=5)
    assert redis.zscore(RANK, "1") == 80.0
    assert ranks.percentile(1, NOW) == 50.0


def test_an_older_stamp_does_not_remove_a_newer_score(ranks, redis):
    push(ranks, engaged(1, 80.0), version=5)
    push(ranks, engaged(1, 0.0, last_active=None), version=3)
    assert redis.zscore(RANK, "1") == 80.0


def test_a_newer_stamp_replaces_the_score(ranks, redis):
    push(ranks, engaged(1, 80.0), engaged(2, 40.0), version=5)
    push(ranks, engaged(1, 10.0), version=6)
    assert redis.zscore(RANK, "1") == 10.0
    assert ranks.percentile(2, NOW) == 50.0


def test_the_version_alone_orders_writes_whatever_the_day(ranks, redis):
    push(ranks, engaged(1, 80.0), version=7)
    yesterday = TODAY - timedelta(days=1)
    push(ranks, engaged(1, 20.0, day=yesterday), version=8)
    assert redis.zscore(RANK, "1") == 20.0


def test_push_of_many_users_goes_through_in_chunks(ranks):
    # 4 arguments a user, 2000 a call: 1200 users take three calls.
    push(ranks, *(engaged(n, n / 100) for n in range(1, 1201)))
    assert ranks.size() == 1200
    assert ranks.percentiles([1, 600, 1200], NOW) == {
        1: 0.0,
        600: 49.92,
        1200: 99.92,
    }


def test_clear_forgets_every_rank(ranks, redis):
    push(ranks, engaged(1, 80.0), engaged(2, 40.0))
    ranks.clear()
    assert ranks.size() == 0
    assert not redis.exists(RANK, UNTIL, STAMP)


def test_ranks_raise_redis_errors_for_the_caller_to_handle():
    server = fakeredis.FakeServer()
    server.connected = False
    ranks = Ranks(fakeredis.FakeRedis(server=server))
    with pytest.raises(RedisError):
        ranks.percentile(1, NOW)
