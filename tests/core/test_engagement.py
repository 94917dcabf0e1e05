from datetime import UTC, date, datetime, timedelta

import pytest

from core.engagement import (
    Engagement,
    measure_active,
    measure_users,
    percent,
    store,
)
from core.progress import ensure_rows
from tests.core.support import person, record, row

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
TODAY = date(2025, 6, 1)


def ago(days: int) -> date:
    return TODAY - timedelta(days=days)


@pytest.mark.parametrize(
    "part, whole, expected",
    [
        (2, 3, 66.67),
        (1, 3, 33.33),
        (1, 8, 12.5),
        (1, 6, 16.67),
        (1, 200, 0.5),
        (1, 16, 6.25),
        (1, 1600, 0.06),  # 0.0625 rounds up
        (1, 40000, 0.0),  # 0.0025 rounds down
        (1, 20000, 0.01),  # 0.005, exactly half, rounds up
        (3, 3, 100.0),
        (0, 5, 0.0),
        (0, 0, 0.0),
    ],
)
def test_percent_rounds_half_up_to_two_decimals(part, whole, expected):
    assert percent(part, whole) == expected


def measure(db, user, now=NOW) -> Engagement:
    with db.reading() as session:
        return measure_users(session, {user.id: user.timezone}, now)[user.id]


def test_engagement_is_zero_and_unranked_without_states(db, world):
    user = person(world)
    found = measure(db, user)
    assert found == Engagement(user.id, "UTC", TODAY)
    assert (found.days_15, found.days_30, found.days_60) == (0.0, 0.0, 0.0)
    assert not found.ranked
    assert found.ranked_until() is None


def test_engagement_windows_end_today_and_hold_15_30_60_days(db, world):
    user = person(world)
    record(db, user.id, ago(0), "completed")
    record(db, user.id, ago(14), "snoozed")  # first day of the 15
    record(db, user.id, ago(15), "completed")  # just before the 15
    record(db, user.id, ago(29), "completed")  # first day of the 30
    record(db, user.id, ago(30), "dismissed")  # just before the 30
    record(db, user.id, ago(59), "uncompleted")  # first day of the 60
    record(db, user.id, ago(60), "completed")  # outside every window
    record(db, user.id, ago(-1), "completed")  # tomorrow: not yet
    found = measure(db, user)
    assert found.days_15 == 50.0  # 1 of 2
    assert found.days_30 == 75.0  # 3 of 4
    assert found.days_60 == 50.0  # 3 of 6
    assert found.last_active == TODAY
    assert found.day == TODAY


def test_engagement_counts_uncompleted_in_the_whole(db, world):
    user = person(world)
    record(db, user.id, TODAY, "completed")
    record(db, user.id, TODAY, "uncompleted")
    record(db, user.id, ago(1), "uncompleted")
    found = measure(db, user)
    assert found.days_15 == 33.33


def test_engagement_rounds_two_thirds_and_one_eighth(db, world):
    thirds, eighths = person(world), person(world)
    for state in ("completed", "completed", "snoozed"):
        record(db, thirds.id, ago(3), state)
    record(db, eighths.id, ago(20), "completed")
    for _ in range(7):
        record(db, eighths.id, ago(20), "dismissed")
    assert measure(db, thirds).days_15 == 66.67
    assert measure(db, eighths).days_30 == 12.5
    assert measure(db, eighths).days_15 == 0.0


def test_engagement_counts_both_kinds_of_actions_together(db, world):
    user = person(world)
    record(db, user.id, TODAY, "completed", target=1, kind="action")
    record(db, user.id, TODAY, "snoozed", target=1, kind="customaction")
    assert measure(db, user).days_15 == 50.0


def test_engagement_counts_only_the_users_own_states(db, world):
    user, other = person(world), person(world)
    record(db, user.id, TODAY, "completed")
    record(db, other.id, TODAY, "dismissed")
    assert measure(db, user).days_15 == 100.0
    assert measure(db, other).days_15 == 0.0


def test_engagement_uses_the_users_own_today(db, world):
    # At 12:00 UTC it is already 2025-06-02 in Kiritimati (+14).
    east = person(world, "Pacific/Kiritimati")
    west = person(world, "UTC")
    for user in (east, west):
        record(db, user.id, TODAY + timedelta(days=1), "completed")
        record(db, user.id, TODAY - timedelta(days=14), "dismissed")
    east_found, west_found = measure(db, east), measure(db, west)
    assert east_found.day == date(2025, 6, 2)
    assert east_found.days_15 == 100.0  # 06-02 in, 05-18 out
    assert west_found.day == TODAY
    assert west_found.days_15 == 0.0  # 06-02 not yet, 05-18 in


def test_engagement_of_a_user_is_ranked_for_15_days_after_a_state(db, world):
    user = person(world, "Europe/Berlin")
    record(db, user.id, date(2025, 3, 20), "completed")
    on_last_day = datetime(2025, 4, 3, 21, 59, tzinfo=UTC)  # 23:59 CEST
    on_next_day = datetime(2025, 4, 3, 22, 0, tzinfo=UTC)
    assert measure(db, user, on_last_day).ranked
    assert not measure(db, user, on_next_day).ranked
    # The day it stops is the 16th after the state, from its midnight.
    until = measure(db, user, on_last_day).ranked_until()
    assert until == datetime(2025, 4, 3, 22, 0)


def test_engagement_ranked_until_a_day_without_midnight(db, world):
    user = person(world, "America/Havana")
    record(db, user.id, date(2025, 2, 22), "completed")
    found = measure(db, user, datetime(2025, 3, 1, tzinfo=UTC))
    # 2025-03-09 starts at 01:00 CDT, 05:00 UTC.
    assert found.ranked_until() == datetime(2025, 3, 9, 5, 0)


def test_measure_active_measures_each_user_on_their_own_today(db, world):
    east = person(world, "Pacific/Kiritimati")  # today 2025-06-02
    mid = person(world, "Asia/Kathmandu")  # today 2025-06-01
    west = person(world, "Pacific/Pago_Pago")  # today 2025-05-31
    idle = person(world, "UTC")
    gone = person(world, "Asia/Kathmandu")
    now = datetime(2025, 6, 1, 10, 30, tzinfo=UTC)
    record(db, east.id, date(2025, 6, 2), "completed")
    record(db, mid.id, date(2025, 6, 2), "completed")  # mid's tomorrow
    record(db, mid.id, date(2025, 6, 1), "snoozed")
    record(db, west.id, date(2025, 5, 31), "completed")
    record(db, west.id, date(2025, 4, 2), "dismissed")  # west's day 60
    record(db, gone.id, date(2025, 4, 2), "completed")  # gone's day 61
    with db.reading() as session:
        found = measure_active(session, now)
    assert set(found) == {east.id, mid.id, west.id}
    assert idle.id not in found
    assert (found[east.id].day, found[east.id].days_15) == (
        date(2025, 6, 2),
        100.0,
    )
    assert (found[mid.id].day, found[mid.id].days_15) == (
        date(2025, 6, 1),
        0.0,
    )
    assert (found[west.id].day, found[west.id].days_60) == (
        date(2025, 5, 31),
        50.0,
    )
    assert found[west.id].days_15 == 100.0
    assert found[east.id].zone == "Pacific/Kiritimati"


def test_measure_active_finds_nobody_without_states(db, world):
    person(world)
    with db.reading() as session:
        assert measure_active(session, NOW) == {}


def test_store_writes_engagement_on_todays_row_creating_it(db, world):
    user = person(world)
    record(db, user.id, TODAY, "completed")
    record(db, user.id, ago(20), "dismissed")
    measured = {user.id: measure(db, user)}
    written = db.write(lambda session: store(session, measured))
    today_row = row(db, user.id, TODAY)
    assert (
        today_row.engagement_15_days,
        today_row.engagement_30_days,
        today_row.engagement_60_days,
    ) == (100.0, 50.0, 50.0)
    assert written == [(user.id, TODAY, 1, 100.0)]  # first rank version


def test_store_bumps_the_version_each_time(db, world):
    user = person(world)
    record(db, user.id, TODAY, "completed")
    measured = {user.id: measure(db, user)}
    first = db.write(lambda session: store(session, measured))
    second = db.write(lambda session: store(session, measured))
    assert second[0][2] > first[0][2]


def test_store_leaves_past_rows_with_the_values_they_had(db, world):
    user = person(world)
    record(db, user.id, ago(1), "completed")
    yesterday_now = NOW - timedelta(days=1)
    db.write(lambda s: store(s, {user.id: measure(db, user, yesterday_now)}))
    record(db, user.id, TODAY, "dismissed")
    db.write(lambda s: store(s, {user.id: measure(db, user)}))
    assert row(db, user.id, ago(1)).engagement_15_days == 100.0
    assert row(db, user.id, TODAY).engagement_15_days == 50.0


def test_a_new_row_carries_the_previous_engagement_until_recomputed(db, world):
    user = person(world)
    record(db, user.id, ago(3), "completed")
    db.write(
        lambda s: store(
            s, {user.id: measure(db, user, NOW - timedelta(days=3))}
        )
    )
    db.write(lambda s: ensure_rows(s, [(user.id, TODAY)]))
    assert row(db, user.id, TODAY).engagement_15_days == 100.0


def test_store_of_nothing_writes_nothing(db):
    assert db.write(lambda session: store(session, {})) == []
