"""Day rows: creating them, moving their counters, and reading them."""

from datetime import date, timedelta

from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.orm import Session, aliased

from core.days import utcnow
from core.db import insert_for
from core.models import (
    COUNTERS,
    Checkin,
    CustomAction,
    DailyProgress,
    User,
    UserAction,
)

ENGAGEMENT = (
    "engagement_15_days",
    "engagement_30_days",
    "engagement_60_days",
    "engagement_rank",
)


def lock_users(session: Session, user_ids) -> None:
    """Serialise writers per user; ids in order, so locks never cross."""
    ids = sorted(set(user_ids))
    if ids and session.get_bind().dialect.name == "postgresql":
        session.execute(
            select(User.id)
            .where(User.id.in_(ids))
            .order_by(User.id)
            .with_for_update()
        ).all()


def _totals(user_id):
    actions = (
        select(func.count())
        .select_from(UserAction)
        .where(UserAction.user_id == user_id)
        .scalar_subquery()
    )
    custom = (
        select(func.count())
        .select_from(CustomAction)
        .where(CustomAction.user_id == user_id)
        .scalar_subquery()
    )
    return actions, custom


def _missing(session: Session, pairs: list[tuple]) -> list[tuple]:
    """The pairs without a row yet: most exist, and a lookup is cheaper
    than an insert that would compute a new row's values to drop them."""
    if not pairs:
        return []
    users = sorted({user_id for user_id, _ in pairs})
    first, last = min(day for _, day in pairs), max(day for _, day in pairs)
    existing = set()
    for start in range(0, len(users), 500):
        existing.update(
            session.execute(
                select(DailyProgress.user_id, DailyProgress.day).where(
                    DailyProgress.user_id.in_(users[start : start + 500]),
                    DailyProgress.day.between(first, last),
                )
            ).all()
        )
    return [pair for pair in pairs if pair not in existing]


def ensure_rows(session: Session, pairs) -> None:
    """Create the missing (user, day) rows.

    A new row starts from the user's current totals and carries the
    engagement of the user's previous row until it is recomputed.
    """
    pairs = _missing(session, sorted(set(pairs)))
    if not pairs:
        return
    user, day = bindparam("u"), bindparam("d")
    actions, custom = _totals(user)
    previous = aliased(DailyProgress)

    def carried(column):
        return func.coalesce(
            select(getattr(previous, column))
            .where(previous.user_id == user, previous.day < day)
            .order_by(previous.day.desc())
            .limit(1)
            .scalar_subquery(),
            0.0,
        )

    now = utcnow()
    stmt = (
        insert_for(session, DailyProgress)
        .values(
            user_id=user,
            day=day,
            actions_total=actions,
            customactions_total=custom,
            created_on=now,
            updated_on=now,
            **{name: carried(name) for name in ENGAGEMENT},
        )
        .on_conflict_do_nothing(index_elements=["user_id", "day"])
    )
    session.execute(stmt, [{"u": u, "d": d} for u, d in pairs])


def refresh_totals(session: Session, user_id: int, day: date) -> None:
    """Today's row follows the user's selections."""
    ensure_rows(session, [(user_id, day)])
    actions, custom = _totals(user_id)
    session.execute(
        update(DailyProgress)
        .where(DailyProgress.user_id == user_id, DailyProgress.day == day)
        .values(
            actions_total=actions,
            customactions_total=custom,
            version=DailyProgress.version + 1,
            updated_on=utcnow(),
        )
    )


def row_for(session: Session, user_id: int, day: date) -> DailyProgress:
    ensure_rows(session, [(user_id, day)])
    return session.scalars(
        select(DailyProgress).where(
            DailyProgress.user_id == user_id, DailyProgress.day == day
        )
    ).one()


def write_fields(
    session: Session,
    row_id: int,
    counters: dict[str, int],
    goal_status: dict[int, int] | None,
) -> None:
    """Set counters and, when given, replace the check-in map."""
    values = {name: counters[name] for name in COUNTERS if name in counters}
    session.execute(
        update(DailyProgress)
        .where(DailyProgress.id == row_id)
        .values(
            **values,
            version=DailyProgress.version + 1,
            updated_on=utcnow(),
        )
    )
    if goal_status is not None:
        session.execute(delete(Checkin).where(Checkin.progress_id == row_id))
        if goal_status:
            session.execute(
                insert_for(session, Checkin),
                [
                    {"progress_id": row_id, "goal_id": g, "value": v}
                    for g, v in sorted(goal_status.items())
                ],
            )


def check_in(session: Session, row_id: int, goal_id: int, value: int):
    """One goal's check-in; other goals' check-ins are left alone."""
    stmt = insert_for(session, Checkin).values(
        progress_id=row_id, goal_id=goal_id, value=value
    )
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=["progress_id", "goal_id"],
            set_={"value": stmt.excluded.value},
        )
    )
    session.execute(
        update(DailyProgress)
        .where(DailyProgress.id == row_id)
        .values(version=DailyProgress.version + 1, updated_on=utcnow())
    )


def goal_statuses(session: Session, row_ids) -> dict[int, dict[str, int]]:
    found: dict[int, dict[str, int]] = {row_id: {} for row_id in row_ids}
    rows = session.execute(
        select(Checkin.progress_id, Checkin.goal_id, Checkin.value)
        .where(Checkin.progress_id.in_(list(found)))
        .order_by(Checkin.progress_id, Checkin.goal_id)
    )
    for row_id, goal_id, value in rows:
        found[row_id][f"goal-{goal_id}"] = value
    return found


def checkin_days(session: Session, user_id: int, until: date) -> set[date]:
    """Days up to `until` whose row has at least one check-in."""
    return set(
        session.scalars(
            select(DailyProgress.day)
            .join(Checkin, Checkin.progress_id == DailyProgress.id)
            .where(DailyProgress.user_id == user_id)
            .where(DailyProgress.day <= until)
            .distinct()
        )
    )


def checkin_streak(days: set[date], day: date) -> int:
    streak = 0
    while day - timedelta(days=streak) in days:
        streak += 1
    return streak
