"""Engagement: the share of recorded states that are `completed`."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

from core.days import day_start, today, utcnow, window
from core.models import ActionState, DailyProgress, User
from core.progress import ensure_rows

WINDOWS = (15, 30, 60)
RANKED_DAYS = 15


def percent(part: int, whole: int) -> float:
    """100 * part / whole, rounded half up to 2 decimals; 0.0 for none."""
    if whole <= 0:
        return 0.0
    hundredths = (20000 * part + whole) // (2 * whole)
    return hundredths / 100


@dataclass(frozen=True)
class Engagement:
    user_id: int
    zone: str
    day: date  # the user's today
    days_15: float = 0.0
    days_30: float = 0.0
    days_60: float = 0.0
    last_active: date | None = None  # newest day with a recorded state

    @property
    def ranked(self) -> bool:
        return self.last_active is not None and (
            self.day - self.last_active
        ) < timedelta(days=RANKED_DAYS)

    def ranked_until(self) -> datetime | None:
        """When the user stops being ranked, if nothing new is recorded."""
        if self.last_active is None:
            return None
        end = self.last_active + timedelta(days=RANKED_DAYS)
        return day_start(end, self.zone)


def _measure(
    session: Session, day: date, zones: dict[int, str]
) -> dict[int, Engagement]:
    """Engagement on `day` of the given users, in one grouped query.

    The query reads only the (user, day, state) index, never the table.
    """
    counts = []
    for days in WINDOWS:
        first, _ = window(day, days)
        inside = ActionState.day >= first
        done = inside & (ActionState.state == "completed")
        # COUNT(*) FILTER (WHERE ...): cheaper than SUM(CASE ...).
        counts.append(func.count().filter(inside))
        counts.append(func.count().filter(done))
    first, _ = window(day, max(WINDOWS))
    rows = session.execute(
        select(ActionState.user_id, func.max(ActionState.day), *counts)
        .where(ActionState.user_id.in_(sorted(zones)))
        .where(ActionState.day >= first, ActionState.day <= day)
        .group_by(ActionState.user_id)
    )
    found = {}
    for user_id, last, t15, c15, t30, c30, t60, c60 in rows:
        found[user_id] = Engagement(
            user_id=user_id,
            zone=zones[user_id],
            day=day,
            days_15=percent(c15, t15),
            days_30=percent(c30, t30),
            days_60=percent(c60, t60),
            last_active=last,
        )
    return found


def measure_users(
    session: Session, zones: dict[int, str], now: datetime | None = None
) -> dict[int, Engagement]:
    """Engagement of the given users (id -> time zone) on their today."""
    now = now or datetime.now(UTC)
    by_day: dict[date, dict[int, str]] = defaultdict(dict)
    for user_id, zone_name in zones.items():
        by_day[today(zone_name, now)][user_id] = zone_name

    found = {}
    for day, group in by_day.items():
        measured = _measure(session, day, group)
        for user_id, zone_name in group.items():
            found[user_id] = measured.get(user_id) or Engagement(
                user_id, zone_name, day
            )
    return found


def possibly_active(session: Session, now: datetime | None = None):
    """Ids of users who may have a state in their last 60 local days.

    A superset: every local today lies within a day of the UTC date.
    """
    now = now or datetime.now(UTC)
    first, _ = window(now.date() - timedelta(days=1), max(WINDOWS))
    return list(
        session.scalars(
            select(ActionState.user_id)
            .where(ActionState.day >= first)
            .distinct()
            .order_by(ActionState.user_id)
        )
    )


def measure_active(
    session: Session, now: datetime | None = None
) -> dict[int, Engagement]:
    """Engagement of every user with a state in their last 60 local days."""
    now = now or datetime.now(UTC)
    user_ids = possibly_active(session, now)
    zones = {}
    for start in range(0, len(user_ids), 1000):
        chunk = user_ids[start : start + 1000]
        zones.update(
            session.execute(
                select(User.id, User.timezone).where(User.id.in_(chunk))
            ).all()
        )
    return {
        user_id: found
        for user_id, found in measure_users(session, zones, now).items()
        if found.last_active is not None
    }


def store(session: Session, measured: dict[int, Engagement]) -> list[tuple]:
    """Write engagement onto each user's row for today, creating it.

    Returns (user, day, version, 15-day engagement) of every row written,
    the stamp the rank set needs to keep only the newest value.
    """
    if not measured:
        return []
    ensure_rows(session, [(e.user_id, e.day) for e in measured.values()])
    session.connection().execute(
        update(DailyProgress)
        .where(
            DailyProgress.user_id == bindparam("b_user"),
            DailyProgress.day == bindparam("b_day"),
        )
        .values(
            engagement_15_days=bindparam("b_15"),
            engagement_30_days=bindparam("b_30"),
            engagement_60_days=bindparam("b_60"),
            version=DailyProgress.version + 1,
            updated_on=bindparam("b_now"),
        ),
        [
            {
                "b_user": e.user_id,
                "b_day": e.day,
                "b_15": e.days_15,
                "b_30": e.days_30,
                "b_60": e.days_60,
                "b_now": utcnow(),
            }
            for e in sorted(measured.values(), key=lambda e: e.user_id)
        ],
    )
    return versions(session, measured)


def versions(session: Session, measured: dict[int, Engagement]):
    """Bump the users' rank versions; (user, day, version, engagement_15)
    of each user's today's row, for the rank set."""
    user_ids = sorted(measured)
    found = []
    for start in range(0, len(user_ids), 1000):
        chunk = user_ids[start : start + 1000]
        found.extend(
            session.connection().execute(
                update(User)
                .where(User.id.in_(chunk))
                .values(rank_version=User.rank_version + 1)
                .returning(User.id, User.rank_version)
            )
        )
    return [
        (user_id, measured[user_id].day, version, measured[user_id].days_15)
        for user_id, version in sorted(found)
    ]
