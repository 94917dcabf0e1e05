"""Small builders the core tests share: reports, states and rows."""

import itertools
import socket
from datetime import UTC, date, datetime, time

from redis import Redis
from sqlalchemy import select

from core.models import ActionState, DailyProgress
from core.reports import Report, apply_reports
from core.services import connect_redis

_seqs = itertools.count(1_000)
_emails = itertools.count(1)


def person(world, timezone: str = "UTC"):
    """A user with an email of its own."""
    return world.user(f"core{next(_emails)}@example.org", timezone)


def at(day: date, hour: int = 12, minute: int = 0) -> datetime:
    """A naive UTC instant on `day`, as reports store them."""
    return datetime.combine(day, time(hour, minute))


def aware(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def report(
    user_id: int,
    target: int,
    state: str = "completed",
    *,
    day: date,
    occurred_at: datetime | None = None,
    kind: str = "action",
) -> Report:
    return Report(
        user_id=user_id,
        kind=kind,
        target_id=target,
        state=state,
        occurred_at=occurred_at or at(day),
        day=day,
    )


def apply(db, batch) -> set:
    """Apply (seq, report) pairs in one transaction, as a worker does."""
    return db.write(lambda session: apply_reports(session, batch))


def record(db, user_id, day, state, target=None, kind="action") -> None:
    """Store a recorded state directly, for the rules that only read."""
    seq = next(_seqs)
    db.write(
        lambda session: session.add(
            ActionState(
                user_id=user_id,
                kind=kind,
                target_id=target or seq,
                day=day,
                state=state,
                occurred_at=at(day),
                seq=seq,
            )
        )
    )


def row(db, user_id: int, day: date) -> DailyProgress | None:
    with db.reading() as session:
        return session.scalars(
            select(DailyProgress).where(
                DailyProgress.user_id == user_id, DailyProgress.day == day
            )
        ).one_or_none()


def rows(db, user_id: int) -> list[DailyProgress]:
    with db.reading() as session:
        return list(
            session.scalars(
                select(DailyProgress)
                .where(DailyProgress.user_id == user_id)
                .order_by(DailyProgress.day)
            )
        )


def closed_port_redis() -> Redis:
    """A client, built as the services build theirs, for a port nothing
    listens on: every command fails."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return connect_redis(f"redis://127.0.0.1:{port}/0")
