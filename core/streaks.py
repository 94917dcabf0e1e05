"""Streaks: completions per local day, and the run of days with any.

Each user's counts are cached in the Redis hash `dp:streak:<user>`, one
field per day holding "<row version>:<count>", so a late writer never
puts back an older count. The `_built` field says the hash holds every
day of the last year; without it the hash is rebuilt from SQL.
"""

import logging
from datetime import date, timedelta

from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from core.models import DailyProgress

log = logging.getLogger(__name__)

LOOKBACK = 366
TTL = 14 * 24 * 3600
BUILT = "_built"

_SET = """
for i = 3, #ARGV, 3 do
  local known = redis.call('HGET', KEYS[1], ARGV[i])
  local version = 0
  if known then version = tonumber(string.match(known, '^(%d+):')) end
  if tonumber(ARGV[i + 1]) > version then
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1] .. ':' .. ARGV[i + 2])
  end
end
if ARGV[1] == '1' then redis.call('HSET', KEYS[1], '_built', '1') end
redis.call('EXPIRE', KEYS[1], ARGV[2])
return 0
"""

COMPLETED = DailyProgress.actions_completed + (
    DailyProgress.customactions_completed
)


def key(user_id: int) -> str:
    return f"dp:streak:{user_id}"


def series(counts: dict[date, int], last: date, days: int) -> list[dict]:
    """`days` days ending with `last`, oldest first, missing days as 0."""
    first = last - timedelta(days=days - 1)
    return [
        {
            "date": day.isoformat(),
            "day": day.strftime("%A"),
            "count": counts.get(day, 0),
        }
        for day in (first + timedelta(days=n) for n in range(days))
    ]


def current_streak(counts: dict[date, int], last: date) -> int:
    """Days in a row with a completion, ending `last` or the day before."""
    day = last if counts.get(last, 0) > 0 else last - timedelta(days=1)
    streak = 0
    while streak < LOOKBACK and counts.get(day, 0) > 0:
        streak += 1
        day -= timedelta(days=1)
    return streak


def counts_from_sql(
    session: Session, user_id: int, last: date
) -> dict[date, tuple[int, int]]:
    """day -> (version, completions) for the year ending `last`."""
    rows = session.execute(
        select(DailyProgress.day, DailyProgress.version, COMPLETED).where(
            DailyProgress.user_id == user_id,
            DailyProgress.day > last - timedelta(days=LOOKBACK + 1),
        )
    )
    return {day: (version, count) for day, version, count in rows}


def rows_for_cache(session: Session, pairs) -> dict[int, list[tuple]]:
    """user -> [(day, version, completions)] for the given rows."""
    found: dict[int, list[tuple]] = {}
    pairs = sorted(set(pairs))
    for start in range(0, len(pairs), 500):
        rows = session.execute(
            select(
                DailyProgress.user_id,
                DailyProgress.day,
                DailyProgress.version,
                COMPLETED,
            ).where(
                tuple_(DailyProgress.user_id, DailyProgress.day).in_(
                    pairs[start : start + 500]
                )
            )
        )
        for user_id, day, version, count in rows:
            found.setdefault(user_id, []).append((day, version, count))
    return found


class StreakCache:
    def __init__(self, redis: Redis):
        self._redis = redis
        self._set = redis.register_script(_SET)

    def put(self, user_id: int, rows, built=False, client=None) -> None:
        """Store (day, version, count) rows, keeping newer versions."""
        args: list = ["1" if built else "0", TTL]
        for day, version, count in rows:
            args += [day.isoformat(), version, count]
        self._set(keys=[key(user_id)], args=args, client=client)

    def put_many(self, rows_by_user: dict[int, list[tuple]]) -> None:
        with self._redis.pipeline(transaction=False) as pipe:
            for user_id, rows in rows_by_user.items():
                self.put(user_id, rows, client=pipe)
            pipe.execute()

    def get(self, user_id: int) -> dict[date, int] | None:
        """Cached counts, or None when the cache is not complete."""
        raw = self._redis.hgetall(key(user_id))
        if raw.pop(BUILT.encode(), None) is None:
            return None
        return {
            date.fromisoformat(day.decode()): int(value.split(b":")[1])
            for day, value in raw.items()
        }

    def clear(self) -> None:
        names = list(self._redis.scan_iter(match="dp:streak:*", count=1000))
        for start in range(0, len(names), 500):
            self._redis.delete(*names[start : start + 500])


def read_counts(
    cache: StreakCache | None, session: Session, user_id: int, last: date
) -> dict[date, int]:
    """Counts per day: from the cache, filling it from SQL when missing.

    With Redis down, SQL answers alone.
    """
    if cache is not None:
        try:
            cached = cache.get(user_id)
            if cached is not None:
                return cached
        except RedisError as exc:
            log.warning("streak cache unreachable", extra={"error": str(exc)})
            cache = None
    found = counts_from_sql(session, user_id, last)
    if cache is not None:
        try:
            cache.put(
                user_id,
                [(day, v, c) for day, (v, c) in found.items()],
                built=True,
            )
        except RedisError as exc:
            log.warning("streak cache unreachable", extra={"error": str(exc)})
    return {day: count for day, (_, count) in found.items()}


def refresh(cache: StreakCache, session: Session, pairs) -> None:
    """Put the current counts of these (user, day) rows in the cache."""
    try:
        cache.put_many(rows_for_cache(session, pairs))
    except RedisError as exc:
        log.warning("streak cache unreachable", extra={"error": str(exc)})
