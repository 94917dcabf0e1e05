"""Recompute: engagement of every active user, set-based, against a loop.

1. A database of its own gets N users in three zones, each with a state
   a day for 60 days and today's row (bench/fill.py).
2. The set-based way, as the workers run it: `measure_active` and
   `store` in one transaction; then `recompute_all` whole, which also
   pushes the ranks to Redis and keeps them on the rows.
3. The reference: a loop that, per user, reads their states, counts the
   three windows in Python and updates their row, in one transaction.
   It runs on a random sample and is scaled to N; its figures are
   checked against the set-based ones for the same users.
"""

import random
import time
from datetime import UTC, datetime, timedelta

from redis import Redis
from sqlalchemy import select, update

from bench import fill
from core.days import today, utcnow
from core.db import Database
from core.engagement import WINDOWS, measure_active, percent, store
from core.models import ActionState, DailyProgress, User
from core.pipeline import recompute_all

ZONES = ("UTC", "Asia/Tokyo", "America/New_York")
DAYS = 60
SEED = 20160518
CHUNK = 25_000


def build(db: Database, users: int, now: datetime) -> float:
    """Step 1; the seconds it took."""
    started = time.perf_counter()
    stamp = now.replace(tzinfo=None)
    todays = tuple(today(zone, now) for zone in ZONES)
    fill.users(db, 1, users, ZONES, stamp)
    fill.selections(db, 1, users, stamp)
    for lo in range(1, users + 1, CHUNK):
        hi = min(users, lo + CHUNK - 1)
        fill.history(db, lo, hi, DAYS, todays)
    for n, day in enumerate(todays):
        # Today's rows exist already, as they would after a day's reports.
        ids = [i for i in range(1, users + 1) if i % len(ZONES) == n]
        with db.writing() as session:
            session.execute(
                DailyProgress.__table__.insert(),
                [
                    {
                        "user_id": i,
                        "day": day,
                        "actions_total": 1,
                        "created_on": stamp,
                        "updated_on": stamp,
                    }
                    for i in ids
                ],
            )
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
    return tuple(values)


def run(db: Database, redis: Redis, users: int, sample: int, say) -> dict:
    now = datetime.now(UTC)
    built = build(db, users, now)
    say(f"  {users} users x {DAYS} days of states built in {built:.1f} s")

    # 2. Set-based, as the workers do it.
    def set_based_work(session):
        found = measure_active(session, now)
        store(session, found)
        return found

    started = time.perf_counter()
    measured = db.write(set_based_work)
    set_based = time.perf_counter() - started
    say(f"  measure_active + store: {set_based:.2f} s")
    started = time.perf_counter()
    recomputed = recompute_all(db, redis, now)
    whole = time.perf_counter() - started
    say(f"  recompute_all with ranks: {whole:.2f} s ({recomputed} users)")

    # 3. The loop, on a sample, scaled.
    chosen = sorted(random.Random(SEED).sample(range(1, users + 1), sample))
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

    started = time.perf_counter()
    looped = db.write(loop)
    sampled = time.perf_counter() - started
    scaled = sampled * len(measured) / sample
    differ = [
        user_id
        for user_id, values in looped.items()
        if values
        != (
            measured[user_id].days_15,
            measured[user_id].days_30,
            measured[user_id].days_60,
        )
    ]
    say(
        f"  per-user loop: {sampled:.2f} s for {sample} users, "
        f"{scaled:.1f} s scaled to {len(measured)}"
    )
    return {
        "users": users,
        "days": DAYS,
        "states": users * DAYS,
        "active_users": len(measured),
        "build_s": round(built, 1),
        "set_based_s": round(set_based, 3),
        "recompute_all_s": round(whole, 3),
        "loop_sample_users": sample,
        "loop_sample_s": round(sampled, 3),
        "loop_scaled_s": round(scaled, 1),
        "loop_ms_per_user": round(sampled * 1000 / sample, 3),
        "speedup": round(scaled / set_based, 1),
        "loop_disagrees_with_set_based": len(differ),
    }
