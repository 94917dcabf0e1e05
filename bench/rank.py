"""Rank: the live rank read at 10k, 100k and 1M ranked users.

1. The rank set grows in steps to each size, in a Redis database of its
   own, in the layout `core.ranks` keeps (score, ranked-until instant,
   rank version), written with pipelined ZADD and HSET.
2. `Ranks.percentile()` is timed for random users, as the API calls it.
3. The reference reads the same ranks without the set: it loads the
   day's 15-day engagement of every user from SQL, sorts the values and
   finds the user's place by bisection. Its rows are made in a database
   of its own (bench/fill.py) with the same scores; each answer is
   checked against the live read.
"""

import random
import time
from bisect import bisect_left
from datetime import UTC, date, datetime, timedelta

from redis import Redis
from sqlalchemy import select

from bench import fill
from bench.memory import rank_memory
from core.db import Database
from core.models import DailyProgress
from core.ranks import RANK, STAMP, UNTIL, Ranks, rank_percent

SIZES = (10_000, 100_000, 1_000_000)
READS = 5000
REFERENCE_READS = {10_000: 30, 100_000: 10, 1_000_000: 5}
CHUNK = 10_000
SEED = 7


def fill_set(redis: Redis, lo: int, hi: int, until: float):
    for start in range(lo, hi + 1, CHUNK):
        users = range(start, min(hi, start + CHUNK - 1) + 1)
        with redis.pipeline(transaction=False) as pipe:
            pipe.zadd(RANK, {u: fill.score(u) for u in users})
            pipe.zadd(UNTIL, dict.fromkeys(users, until))
            pipe.hset(STAMP, mapping=dict.fromkeys(users, 1))
            pipe.execute()


def reference(session, user_id: int, day: date) -> float:
    """The rank without the set: every value of the day, sorted."""
    own = session.scalar(
        select(DailyProgress.engagement_15_days).where(
            DailyProgress.user_id == user_id, DailyProgress.day == day
        )
    )
    values = sorted(
        session.scalars(
            select(DailyProgress.engagement_15_days).where(
                DailyProgress.day == day
            )
        )
    )
    return rank_percent(bisect_left(values, own), len(values))


def _quantiles(seconds: list[float]) -> dict:
    ordered = sorted(seconds)

    def at(q):
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    return {
        "p50_ms": round(at(0.50) * 1000, 4),
        "p99_ms": round(at(0.99) * 1000, 4),
        "reads": len(ordered),
    }


def run(url: str, redis: Redis, say, sizes=SIZES) -> dict:
    now = datetime.now(UTC)
    day = now.date()
    until = (now + timedelta(days=10)).timestamp()
    ranks = Ranks(redis)
    ranks.clear()
    db = Database(url)
    rng = random.Random(SEED)
    found, filled = {}, 0
    try:
        for size in sizes:
            # 1. Grow the set and the day rows to this size.
            started = time.perf_counter()
            fill_set(redis, filled + 1, size, until)
            with fill.bulk(url) as conn:
                fill.users(conn, filled + 1, size, ("UTC",), now)
                fill.daily_rows(conn, filled + 1, size, (day,), now)
            filled = size
            built = time.perf_counter() - started

            # 2. The live read.
            for user_id in rng.sample(range(1, size + 1), 200):
                ranks.percentile(user_id, now)  # warm up
            redis.config_resetstat()
            live = []
            for user_id in rng.sample(range(1, size + 1), min(READS, size)):
                began = time.perf_counter()
                ranks.percentile(user_id, now)
                live.append(time.perf_counter() - began)
            # The part of a read that Redis spends running the script.
            stats = redis.info("commandstats").get("cmdstat_evalsha", {})

            # 3. The reference, checked against the live read.
            slow, wrong = [], 0
            with db.reading() as session:
                for user_id in rng.sample(
                    range(1, size + 1), REFERENCE_READS.get(size, 5)
                ):
                    began = time.perf_counter()
                    answer = reference(session, user_id, day)
                    slow.append(time.perf_counter() - began)
                    wrong += answer != ranks.percentile(user_id, now)
            entry = {
                "live": _quantiles(live),
                "live_server_us": stats.get("usec_per_call"),
                "reference": _quantiles(slow),
                "reference_disagrees": wrong,
                "build_s": round(built, 1),
                "memory": rank_memory(redis, size),
            }
            entry["speedup_p50"] = round(
                entry["reference"]["p50_ms"] / entry["live"]["p50_ms"], 1
            )
            found[str(size)] = entry
            say(
                f"  {size:>9,} users: live p50 "
                f"{entry['live']['p50_ms']:.3f} ms p99 "
                f"{entry['live']['p99_ms']:.3f} ms; reference p50 "
                f"{entry['reference']['p50_ms']:.1f} ms; "
                f"{entry['memory']['bytes_per_user']:.0f} B/user in Redis"
            )
    finally:
        db.dispose()
        ranks.clear()
    top = found[str(sizes[-1])]
    return {
        "sizes": found,
        "p50_ms": top["live"]["p50_ms"],
        "p99_ms": top["live"]["p99_ms"],
        "reference_p50_ms": top["reference"]["p50_ms"],
        "speedup": top["speedup_p50"],
        "at_users": sizes[-1],
    }
