"""Recompute: engagement of every active user, set-based, against a loop.

1. A database of its own gets N users in three zones, each with a state
   a day for 60 days and today's row (bench/fill.py).
2. The set-based way: `recompute_all` as the workers run it, first
   without Redis (the SQL work, what the loop is compared with), then
   whole, with the ranks pushed to Redis and kept on the rows.
3. The reference: a loop that, per user, reads their states, counts the
   three windows in Python, updates their row and bumps their rank
   version, all in one transaction.
   It runs on a random sample and is scaled to N; its figures are
   checked against the set-based ones for the same users.
"""

import random
import time
from datetime import UTC, datetime, timedelta

from redis import Redis
from sqlalchemy import func, select, update

from bench import fill
from core.days import today, utcnow
from core.db import Database
from core.engagement import WINDOWS, percent
from core.models import ActionState, DailyProgress, User
from core.pipeline import recompute_all

ZONES = ("UTC", "Asia/Tokyo", "America/New_York")
DAYS = 60
SEED = 20160518


def build(url: str, users: int, now: datetime) -> float:
    """Step 1; the seconds it took."""
    started = time.perf_counter()
    stamp = now.replace(tzinfo=None)
    todays = tuple(today(zone, now) for zone in ZONES)
    with fill.bulk(url) as conn:
        fill.users(conn, 1, users, ZONES, stamp)
        fill.selections(conn, 1, users, stamp)
        fill.history(conn, 1, users, DAYS, todays)
        # Today's rows exist, as they would after a day of reports.
        fill.daily_rows(conn, 1, users, todays, stamp)
    return time.perf_counter() - started


def per_user(session, user_id: int, zone: str, now: datetime) -> tuple:
    """The reference: one user's engagement, read and written alone."""
    day = today(zone, now)
    first = day - timedelta(days=max(WINDOWS) - 1)
    states = session.execute(
        select(ActionState.day, ActionState.state).where(
            ActionState.user_id == user_id,
            ActionState.day >= first,
            ActionState.day <= day,
        )
    ).all()
    values = []
    for days in WINDOWS:
        start = day - timedelta(days=days - 1)
        inside = [state for on, state in states if on >= start]
        done = sum(state == "completed" for state in inside)
        values.append(percent(done, len(inside)))
    session.execute(
        update(DailyProgress)
        .where(DailyProgress.user_id == user_id, DailyProgress.day == day)
        .values(
            engagement_15_days=values[0],
            engagement_30_days=values[1],
            engagement_60_days=values[2],
            version=DailyProgress.version + 1,
            updated_on=utcnow(),
        )
    )
    session.execute(
        update(User)
        .where(User.id == user_id)
        .values(rank_version=User.rank_version + 1)
    )
    return tuple(values)


class Clock:
    """Wall and this process's CPU seconds of one step."""

    def __enter__(self) -> "Clock":
        self._wall, self._cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc) -> None:
        self.wall = time.perf_counter() - self._wall
        self.cpu = time.process_time() - self._cpu


def run(url: str, redis: Redis, users: int, sample: int, say) -> dict:
    now = datetime.now(UTC)
    built = build(url, users, now)
    say(f"  {users} users x {DAYS} days of states built in {built:.1f} s")
    db = Database(url)
    try:
        found = _compare(db, redis, users, sample, now, say)
    finally:
        db.dispose()
    return {"build_s": round(built, 1), **found}


def _stored(db: Database, user_ids: list[int]) -> dict[int, tuple]:
    """Engagement on each user's newest row."""
    newest = (
        select(DailyProgress.user_id, func.max(DailyProgress.day))
        .where(DailyProgress.user_id.in_(user_ids))
        .group_by(DailyProgress.user_id)
    )
    with db.reading() as session:
        days = dict(session.execute(newest).all())
        rows = session.execute(
            select(
                DailyProgress.user_id,
                DailyProgress.day,
                DailyProgress.engagement_15_days,
                DailyProgress.engagement_30_days,
                DailyProgress.engagement_60_days,
            ).where(DailyProgress.user_id.in_(user_ids))
        ).all()
    return {u: tuple(v) for u, day, *v in rows if days[u] == day}


def _compare(db, redis, users, sample, now, say) -> dict:
    # 2. Set-based, as the workers run it: SQL alone, then with ranks.
    with Clock() as set_based:
        active = recompute_all(db, None, now)
    say(f"  recompute_all, SQL only: {set_based.wall:.2f} s")
    with Clock() as whole:
        recompute_all(db, redis, now)
    say(f"  recompute_all with the ranks: {whole.wall:.2f} s")
    chosen = sorted(random.Random(SEED).sample(range(1, users + 1), sample))
    expected = _stored(db, chosen)

    # 3. The loop, on a sample, scaled.
    with db.reading() as session:
        zones = dict(
            session.execute(
                select(User.id, User.timezone).where(User.id.in_(chosen))
            ).all()
        )

    def loop(session):
        return {
            user_id: per_user(session, user_id, zones[user_id], now)
            for user_id in chosen
        }

    with Clock() as looped:
        found = db.write(loop)
    scale = active / sample
    differ = sum(found[u] != expected.get(u) for u in chosen)
    say(
        f"  per-user loop: {looped.wall:.2f} s for {sample} users, "
        f"{looped.wall * scale:.1f} s scaled to {active}"
    )
    return {
        "users": users,
        "days": DAYS,
        "states": users * DAYS,
        "zones": list(ZONES),
        "active_users": active,
        "set_based_s": round(set_based.wall, 3),
        "set_based_cpu_s": round(set_based.cpu, 3),
        "recompute_all_with_ranks_s": round(whole.wall, 3),
        "loop_sample_users": sample,
        "loop_sample_s": round(looped.wall, 3),
        "loop_ms_per_user": round(looped.wall * 1000 / sample, 3),
        "loop_scaled_s": round(looped.wall * scale, 1),
        "loop_scaled_cpu_s": round(looped.cpu * scale, 1),
        "speedup": round(looped.wall * scale / set_based.wall, 1),
        "speedup_cpu": round(looped.cpu * scale / set_based.cpu, 1),
        "loop_disagrees_with_set_based": differ,
    }
