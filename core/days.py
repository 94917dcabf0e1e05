"""Local days: every rule of the service counts in the user's own days."""

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones


def utcnow() -> datetime:
    """Naive UTC, the form every timestamp is stored in."""
    return datetime.now(UTC).replace(tzinfo=None)


@lru_cache(maxsize=1024)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


# Names whose meaning depends on the host, or that stand for no place.
_NOT_ZONES = {"localtime", "Factory", "posixrules"}


@lru_cache(maxsize=1)
def _zone_names() -> frozenset[str]:
    return frozenset(available_timezones() - _NOT_ZONES)


def is_zone(name: object) -> bool:
    if not isinstance(name, str) or name not in _zone_names():
        return False
    try:
        zone(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def as_utc(instant: datetime) -> datetime:
    """An aware instant as naive UTC."""
    return instant.astimezone(UTC).replace(tzinfo=None)


def local_day(instant: datetime, zone_name: str) -> date:
    """The user's local date of an instant (naive means UTC)."""
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=UTC)
    return instant.astimezone(zone(zone_name)).date()


def today(zone_name: str, now: datetime | None = None) -> date:
    return local_day(now or datetime.now(UTC), zone_name)


def window(last: date, days: int) -> tuple[date, date]:
    """The `days` local days ending with `last`, as (first, last)."""
    return last - timedelta(days=days - 1), last


def day_start(day: date, zone_name: str) -> datetime:
    """The first instant of a local day, as naive UTC.

    Where midnight does not exist, the day starts when the clock jumps.
    """
    local = datetime.combine(day, time(0), tzinfo=zone(zone_name))
    instant = local.astimezone(UTC)
    if local_day(instant, zone_name) < day:
        instant = local.replace(fold=1).astimezone(UTC)
    return instant.replace(tzinfo=None)
