import time as host_time
from datetime import UTC, date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from core.days import (
    as_utc,
    day_start,
    is_zone,
    local_day,
    today,
    utcnow,
    window,
)

US = timedelta(microseconds=1)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    "zone, last_of_day, first_of_next",
    [
        # (zone, last instant of 2025-06-01 there, first of 2025-06-02)
        ("UTC", utc(2025, 6, 1, 23, 59, 59), utc(2025, 6, 2)),
        ("Asia/Kolkata", utc(2025, 6, 1, 18, 29, 59), utc(2025, 6, 1, 18, 30)),
        (
            "Asia/Kathmandu",
            utc(2025, 6, 1, 18, 14, 59),
            utc(2025, 6, 1, 18, 15),
        ),
        # June is winter in Chatham: +12:45.
        (
            "Pacific/Chatham",
            utc(2025, 6, 1, 11, 14, 59),
            utc(2025, 6, 1, 11, 15),
        ),
        # June is summer in St John's: -2:30.
        (
            "America/St_Johns",
            utc(2025, 6, 2, 2, 29, 59),
            utc(2025, 6, 2, 2, 30),
        ),
        # June is winter on Lord Howe: +10:30.
        (
            "Australia/Lord_Howe",
            utc(2025, 6, 1, 13, 29, 59),
            utc(2025, 6, 1, 13, 30),
        ),
        ("America/Santiago", utc(2025, 6, 2, 3, 59, 59), utc(2025, 6, 2, 4)),
        ("Australia/Sydney", utc(2025, 6, 1, 13, 59, 59), utc(2025, 6, 1, 14)),
        ("Europe/Berlin", utc(2025, 6, 1, 21, 59, 59), utc(2025, 6, 1, 22)),
        ("America/New_York", utc(2025, 6, 2, 3, 59, 59), utc(2025, 6, 2, 4)),
    ],
)
def test_local_day_turns_at_the_zones_own_midnight(
    zone, last_of_day, first_of_next
):
    assert local_day(last_of_day, zone) == date(2025, 6, 1)
    assert local_day(first_of_next, zone) == date(2025, 6, 2)
    assert day_start(date(2025, 6, 2), zone) == first_of_next.replace(
        tzinfo=None
    )


@pytest.mark.parametrize(
    "zone, first_of_next",
    [
        # January is summer in the south: Chatham +13:45, Lord Howe +11.
        ("Pacific/Chatham", utc(2025, 1, 1, 10, 15)),
        ("Australia/Lord_Howe", utc(2025, 1, 1, 13)),
        ("Australia/Sydney", utc(2025, 1, 1, 13)),
        ("America/Santiago", utc(2025, 1, 2, 3)),
        # ... and winter in the north: St John's -3:30.
        ("America/St_Johns", utc(2025, 1, 2, 3, 30)),
    ],
)
def test_local_day_follows_the_offset_of_the_season(zone, first_of_next):
    assert local_day(first_of_next - US, zone) == date(2025, 1, 1)
    assert local_day(first_of_next, zone) == date(2025, 1, 2)


def test_local_day_reads_a_naive_instant_as_utc():
    naive = datetime(2025, 6, 1, 18, 30)
    assert local_day(naive, "Asia/Kolkata") == date(2025, 6, 2)
    assert local_day(naive, "UTC") == date(2025, 6, 1)


def test_local_day_ignores_the_offset_the_instant_was_written_with():
    written_in_tokyo = datetime(
        2025, 6, 2, 1, 0, tzinfo=timezone(timedelta(hours=9))
    )
    assert local_day(written_in_tokyo, "UTC") == date(2025, 6, 1)
    assert local_day(written_in_tokyo, "Asia/Tokyo") == date(2025, 6, 2)


def test_today_can_be_three_different_dates_at_one_instant():
    now = utc(2025, 6, 1, 10, 30)
    assert today("Pacific/Kiritimati", now) == date(2025, 6, 2)
    assert today("UTC", now) == date(2025, 6, 1)
    assert today("Pacific/Pago_Pago", now) == date(2025, 5, 31)


def test_today_without_now_is_the_zones_current_date():
    before = datetime.now(UTC)
    found = today("Asia/Kathmandu")
    after = datetime.now(UTC)
    assert found in {
        local_day(before, "Asia/Kathmandu"),
        local_day(after, "Asia/Kathmandu"),
    }


@pytest.mark.parametrize(
    "zone, day, hours",
    [
        ("UTC", date(2025, 3, 30), 24),
        ("Europe/Berlin", date(2025, 3, 30), 23),
        ("Europe/Berlin", date(2025, 10, 26), 25),
        ("America/New_York", date(2025, 3, 9), 23),
        ("America/New_York", date(2025, 11, 2), 25),
        ("America/New_York", date(2026, 3, 8), 23),
        ("America/St_Johns", date(2025, 3, 9), 23),
        ("America/St_Johns", date(2025, 11, 2), 25),
        ("Australia/Sydney", date(2025, 10, 5), 23),
        ("Australia/Sydney", date(2025, 4, 6), 25),
        ("America/Santiago", date(2025, 9, 7), 23),
        ("America/Santiago", date(2025, 4, 5), 25),
        ("Pacific/Chatham", date(2025, 9, 28), 23),
        ("Pacific/Chatham", date(2025, 4, 6), 25),
        ("Australia/Lord_Howe", date(2025, 10, 5), 23.5),
        ("Australia/Lord_Howe", date(2025, 4, 6), 24.5),
        ("America/Havana", date(2025, 3, 9), 23),
        ("America/Havana", date(2025, 11, 2), 25),
        ("Asia/Beirut", date(2025, 3, 30), 23),
        ("Asia/Beirut", date(2025, 10, 25), 25),
        ("Asia/Kolkata", date(2025, 3, 30), 24),
        ("Asia/Kathmandu", date(2025, 10, 26), 24),
    ],
)
def test_day_lasts_from_its_start_to_the_next_days_start(zone, day, hours):
    start = day_start(day, zone)
    end = day_start(day + timedelta(days=1), zone)
    assert end - start == timedelta(hours=hours)
    aware_start = start.replace(tzinfo=UTC)
    assert local_day(aware_start, zone) == day
    assert local_day(aware_start - US, zone) == day - timedelta(days=1)
    assert local_day(aware_start + (end - start) - US, zone) == day


@pytest.mark.parametrize(
    "zone, day, start",
    [
        # Clocks jump from 00:00 to 01:00: the day starts at 01:00.
        ("America/Havana", date(2025, 3, 9), datetime(2025, 3, 9, 5)),
        ("America/Havana", date(2026, 3, 8), datetime(2026, 3, 8, 5)),
        ("Asia/Beirut", date(2025, 3, 30), datetime(2025, 3, 29, 22)),
        ("Asia/Beirut", date(2026, 3, 29), datetime(2026, 3, 28, 22)),
        ("America/Santiago", date(2025, 9, 7), datetime(2025, 9, 7, 4)),
        ("America/Santiago", date(2026, 9, 6), datetime(2026, 9, 6, 4)),
        ("Africa/Cairo", date(2025, 4, 25), datetime(2025, 4, 24, 22)),
        ("Africa/Cairo", date(2026, 4, 24), datetime(2026, 4, 23, 22)),
    ],
)
def test_day_without_a_midnight_starts_when_the_clock_jumps(zone, day, start):
    found = day_start(day, zone)
    assert found == start
    local = found.replace(tzinfo=UTC).astimezone(ZoneInfo(zone))
    assert (local.date(), local.hour, local.minute) == (day, 1, 0)
    assert local_day((found - US).replace(tzinfo=UTC), zone) == (
        day - timedelta(days=1)
    )


@pytest.mark.parametrize(
    "zone, day",
    [
        ("America/Havana", date(2025, 3, 9)),
        ("Asia/Beirut", date(2026, 3, 29)),
        ("America/Santiago", date(2026, 9, 6)),
        ("Africa/Cairo", date(2025, 4, 25)),
    ],
)
def test_these_days_really_have_no_midnight(zone, day):
    # The premise of the tests above, checked against the zone data.
    midnight = datetime.combine(day, time(0), tzinfo=ZoneInfo(zone))
    round_trip = midnight.astimezone(UTC).astimezone(ZoneInfo(zone))
    assert round_trip.replace(tzinfo=None) != midnight.replace(tzinfo=None)
    assert (round_trip.date(), round_trip.hour) == (day, 1)


def test_day_with_two_midnights_starts_at_the_first():
    # Havana falls back from 01:00 to 00:00 on 2025-11-02.
    first_midnight = datetime(2025, 11, 2, 4)
    assert day_start(date(2025, 11, 2), "America/Havana") == first_midnight
    second_midnight = utc(2025, 11, 2, 5)
    assert local_day(second_midnight, "America/Havana") == date(2025, 11, 2)


def test_reports_either_side_of_a_skipped_midnight_land_on_their_days():
    # Santiago, 2025-09-06 23:59:59 -04 is followed by 2025-09-07 01:00 -03.
    assert local_day(utc(2025, 9, 7, 3, 59, 59), "America/Santiago") == (
        date(2025, 9, 6)
    )
    assert local_day(utc(2025, 9, 7, 4), "America/Santiago") == (
        date(2025, 9, 7)
    )


def test_repeated_hour_before_midnight_stays_on_the_same_day():
    # Beirut repeats 23:00-24:00 on 2025-10-25: both passes are that day.
    first_pass = utc(2025, 10, 25, 20, 30)
    second_pass = utc(2025, 10, 25, 21, 30)
    assert local_day(first_pass, "Asia/Beirut") == date(2025, 10, 25)
    assert local_day(second_pass, "Asia/Beirut") == date(2025, 10, 25)
    assert local_day(utc(2025, 10, 25, 22), "Asia/Beirut") == (
        date(2025, 10, 26)
    )


def test_window_holds_the_given_number_of_days_ending_with_the_last():
    assert window(date(2025, 6, 15), 15) == (
        date(2025, 6, 1),
        date(2025, 6, 15),
    )
    assert window(date(2025, 3, 1), 30) == (
        date(2025, 1, 31),
        date(2025, 3, 1),
    )
    assert window(date(2025, 6, 15), 1) == (date(2025, 6, 15),) * 2


def test_as_utc_turns_an_aware_instant_into_naive_utc():
    kolkata = datetime(
        2025, 6, 2, 0, 10, tzinfo=timezone(timedelta(hours=5.5))
    )
    assert as_utc(kolkata) == datetime(2025, 6, 1, 18, 40)
    assert as_utc(kolkata).tzinfo is None


def test_utcnow_is_naive_utc():
    before = datetime.now(UTC).replace(tzinfo=None)
    found = utcnow()
    after = datetime.now(UTC).replace(tzinfo=None)
    assert found.tzinfo is None
    assert before <= found <= after


def test_is_zone_accepts_iana_names_only():
    assert is_zone("Asia/Kathmandu")
    assert is_zone("UTC")
    assert not is_zone("Mars/Olympus_Mons")
    assert not is_zone("")
    assert not is_zone(None)
    assert not is_zone(5)
    assert not is_zone("../../etc/passwd")


@pytest.fixture
def host_zone(monkeypatch):
    """Runs the test with the host's own time zone set to something odd."""

    def use(name):
        monkeypatch.setenv("TZ", name)
        host_time.tzset()

    yield use
    monkeypatch.undo()
    host_time.tzset()


@pytest.mark.parametrize("host", ["Pacific/Kiritimati", "America/Havana"])
def test_days_do_not_depend_on_the_hosts_time_zone(host_zone, host):
    instant = utc(2025, 3, 9, 4, 59, 59)
    expected = (
        local_day(instant, "America/Havana"),
        local_day(instant.replace(tzinfo=None), "Asia/Kolkata"),
        day_start(date(2025, 3, 9), "America/Havana"),
        as_utc(instant),
        today("Pacific/Chatham", instant),
    )
    host_zone(host)
    assert (
        local_day(instant, "America/Havana"),
        local_day(instant.replace(tzinfo=None), "Asia/Kolkata"),
        day_start(date(2025, 3, 9), "America/Havana"),
        as_utc(instant),
        today("Pacific/Chatham", instant),
    ) == expected
    assert expected[0] == date(2025, 3, 8)
