"""What the workers do: apply queued reports, recompute engagement.

Every step after the SQL commit only refreshes Redis, which SQL can
rebuild; an entry is acknowledged after both, so a crash in between
means the entry is applied again, which changes nothing.
"""

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from redis import Redis
from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session

from core import engagement, metrics, queue, streaks
from core.db import Database
from core.models import DailyProgress, User
from core.progress import lock_users
from core.ranks import Ranks
from core.reports import Report, apply_reports

log = logging.getLogger(__name__)
GATHER = 0.1


@dataclass
class Outcome:
    applied: int = 0
    buried: int = 0
    measured: dict | None = None
    written: list | None = None
    touched: dict | None = None


def _apply(session: Session, batch, now) -> Outcome:
    users = {report.user_id for _, report in batch}
    lock_users(session, users)
    pairs = apply_reports(session, batch)
    zones = dict(
        session.execute(
            select(User.id, User.timezone).where(User.id.in_(users))
        ).all()
    )
    measured = engagement.measure_users(session, zones, now)
    written = engagement.store(session, measured)
    pairs |= {(e.user_id, e.day) for e in measured.values()}
    touched = streaks.rows_for_cache(session, pairs)
    return Outcome(len(batch), 0, measured, written, touched)


def store_ranks(db: Database, ranks: Ranks, written, now=None) -> None:
    """Keep each written row's rank as it is now, for when it is past."""
    user_ids = sorted({user_id for user_id, *_ in written})
    if not user_ids:
        return
    live = {}
    for start in range(0, len(user_ids), 1000):
        live.update(ranks.percentiles(user_ids[start : start + 1000], now))
    params = [
        {"b_user": user_id, "b_day": day, "b_rank": live[user_id]}
        for user_id, day, *_ in written
    ]

    def work(session: Session):
        session.connection().execute(
            update(DailyProgress)
            .where(
                DailyProgress.user_id == bindparam("b_user"),
                DailyProgress.day == bindparam("b_day"),
            )
            .values(engagement_rank=bindparam("b_rank")),
            params,
        )

    db.write(work)


def apply_entries(
    db: Database, broker: Redis, redis: Redis, entries
) -> Outcome:
    """Apply stream entries in one transaction, then refresh Redis, ack."""
    now = datetime.now(UTC)
    batch, bad = [], []
    for entry_id, fields in entries:
        try:
            batch.append((queue.seq(entry_id), Report.from_fields(fields)))
        except (KeyError, ValueError) as exc:
            bad.append((entry_id, fields, f"malformed entry: {exc}"))

    try:
        outcome = db.write(lambda session: _apply(session, batch, now))
    except (OperationalError, InterfaceError):
        raise  # the database is away: leave the entries pending
    except Exception:
        if len(batch) <= 1:
            raise
        # One bad report must not hold back the others: apply them one
        # by one, and keep those that still fail aside.
        log.exception("batch failed, applying its reports one by one")
        return _apply_singly(db, broker, redis, entries)

    ranks = Ranks(redis)
    ranks.push(outcome.measured, outcome.written)
    streaks.StreakCache(redis).put_many(outcome.touched)
    store_ranks(db, ranks, outcome.written, now)
    for entry_id, fields, reason in bad:
        queue.bury(broker, entry_id, fields, reason)
    queue.ack(broker, [entry_id for entry_id, _ in entries])
    outcome.buried = len(bad)
    return outcome


def _apply_singly(db: Database, broker: Redis, redis: Redis, entries):
    total = Outcome()
    for entry_id, fields in entries:
        try:
            one = apply_entries(db, broker, redis, [(entry_id, fields)])
        except (OperationalError, InterfaceError):
            raise
        except Exception as exc:
            log.exception(
                "report could not be applied", extra={"id": entry_id}
            )
            queue.bury(broker, entry_id, fields, repr(exc))
            total.buried += 1
        else:
            total.applied += one.applied
            total.buried += one.buried
    return total


def drain(
    db: Database,
    broker: Redis,
    redis: Redis,
    consumer: str,
    seconds: float = 5.0,
    batch_size: int = 500,
    gather: float = GATHER,
) -> Outcome:
    """Apply queued reports until the stream is empty or time is up.

    After a short batch, waits `gather` seconds before reading again:
    under a steady flow, larger batches cost less each.
    """
    queue.ensure_group(broker)
    total = Outcome()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        entries = queue.read_batch(broker, consumer, batch_size)
        if not entries:
            break
        outcome = apply_entries(db, broker, redis, entries)
        metrics.REPORTS_APPLIED.inc(outcome.applied)
        metrics.REPORTS_BURIED.inc(outcome.buried)
        total.applied += outcome.applied
        total.buried += outcome.buried
        if len(entries) < batch_size:
            time.sleep(max(0.0, min(gather, deadline - time.monotonic())))
    return total


def recompute_all(
    db: Database, redis: Redis | None, now=None, chunk: int = 5000
) -> int:
    """Engagement of every active user onto today's row, and the ranks.

    Users go by in chunks, each under its users' locks, so a worker
    applying reports never interleaves with the measure and the store.
    """
    now = now or datetime.now(UTC)
    with db.reading() as session:
        user_ids = engagement.possibly_active(session, now)

    total = 0
    for start in range(0, len(user_ids), chunk):
        ids = user_ids[start : start + chunk]

        def work(session: Session, ids=ids):
            lock_users(session, ids)
            zones = dict(
                session.execute(
                    select(User.id, User.timezone).where(User.id.in_(ids))
                ).all()
            )
            measured = {
                user_id: found
                for user_id, found in engagement.measure_users(
                    session, zones, now
                ).items()
                if found.last_active is not None
            }
            return measured, engagement.store(session, measured)

        measured, written = db.write(work)
        if redis is not None:
            ranks = Ranks(redis)
            ranks.push(measured, written)
            store_ranks(db, ranks, written, now)
        total += len(measured)
    return total
