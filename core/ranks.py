"""Engagement ranks, live from a Redis sorted set.

`dp:rank` scores each ranked user by 15-day engagement; `dp:rank:until`
holds when each stops being ranked (15 local days after their newest
state), and reads drop whoever has passed it. `dp:rank:stamp` keeps the
user's rank version (`users.rank_version`, bumped under the user's lock
with every stored engagement) each score came from, so a late writer
never puts back an older score.
"""

from collections.abc import Iterable
from datetime import UTC, datetime

from redis import Redis

from core.engagement import Engagement, percent

RANK = "dp:rank"
UNTIL = "dp:rank:until"
STAMP = "dp:rank:stamp"

_PUSH = """
for i = 1, #ARGV, 4 do
  local user, stamp = ARGV[i], tonumber(ARGV[i + 1])
  local known = tonumber(redis.call('HGET', KEYS[3], user) or '-1')
  if stamp > known then
    redis.call('HSET', KEYS[3], user, ARGV[i + 1])
    if ARGV[i + 2] == '' then
      redis.call('ZREM', KEYS[1], user)
      redis.call('ZREM', KEYS[2], user)
    else
      redis.call('ZADD', KEYS[1], ARGV[i + 2], user)
      redis.call('ZADD', KEYS[2], ARGV[i + 3], user)
    end
  end
end
return 0
"""

_READ = """
local gone
repeat
  gone = redis.call(
    'ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[#ARGV], 'LIMIT', 0, 500)
  for _, user in ipairs(gone) do
    redis.call('ZREM', KEYS[1], user)
    redis.call('ZREM', KEYS[2], user)
    redis.call('HDEL', KEYS[3], user)
  end
until #gone < 500
local card = redis.call('ZCARD', KEYS[1])
local found = {}
for i = 1, #ARGV - 1 do
  local score = redis.call('ZSCORE', KEYS[1], ARGV[i])
  if score then
    found[i] = redis.call('ZCOUNT', KEYS[1], '-inf', '(' .. score)
  else
    found[i] = -1
  end
end
return {card, found}
"""


def rank_percent(lower: int, ranked: int) -> float:
    """Share of ranked users strictly below; a user alone ranks 0."""
    return percent(lower, ranked) if ranked > 1 else 0.0


def reported(rank: float, floor: float) -> float:
    return max(rank, floor)


class Ranks:
    def __init__(self, redis: Redis):
        self._redis = redis
        self._push = redis.register_script(_PUSH)
        self._read = redis.register_script(_READ)

    def push(
        self, measured: dict[int, Engagement], written: Iterable[tuple]
    ) -> None:
        """Put the newest 15-day engagement of each written row in the set.

        `written` holds (user, day, rank version, engagement_15).
        """
        args: list = []
        for user_id, _, version, _ in written:
            found = measured.get(user_id)
            until = found.ranked_until() if found else None
            if found and found.ranked and until is not None:
                score = repr(found.days_15)
                until_ts = repr(until.replace(tzinfo=UTC).timestamp())
            else:
                score = until_ts = ""
            args += [user_id, version, score, until_ts]
        for start in range(0, len(args), 2000):
            self._push(
                keys=[RANK, UNTIL, STAMP], args=args[start : start + 2000]
            )

    def percentiles(
        self, user_ids: list[int], now: datetime | None = None
    ) -> dict[int, float]:
        """Live rank of each user; 0 for users who are not ranked."""
        now = now or datetime.now(UTC)
        if now.tzinfo is None:
            now = now.replace(tzinfo=UTC)
        card, lowers = self._read(
            keys=[RANK, UNTIL, STAMP], args=[*user_ids, now.timestamp()]
        )
        return {
            user_id: rank_percent(lower, card) if lower >= 0 else 0.0
            for user_id, lower in zip(user_ids, lowers, strict=True)
        }

    def percentile(self, user_id: int, now: datetime | None = None) -> float:
        return self.percentiles([user_id], now)[user_id]

    def size(self) -> int:
        return self._redis.zcard(RANK)

    def clear(self) -> None:
        self._redis.delete(RANK, UNTIL, STAMP)
