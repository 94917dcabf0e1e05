"""JSON shapes of the objects the API returns."""

import logging
from datetime import date, datetime

from redis.exceptions import RedisError
from sqlalchemy.orm import Session

from core import progress
from core.models import COUNTERS, DailyProgress
from core.ranks import Ranks, reported

log = logging.getLogger(__name__)


def timestamp(value: datetime) -> str:
    return value.isoformat(timespec="milliseconds") + "Z"


def goal(row) -> dict:
    return {"id": row.id, "title": row.title}


def action(row) -> dict:
    return {"id": row.id, "title": row.title, "goal": row.goal_id}


def user_goal(row) -> dict:
    return {
        "id": row.id,
        "goal": row.goal_id,
        "created_on": timestamp(row.created_on),
    }


def user_action(row) -> dict:
    return {
        "id": row.id,
        "action": row.action_id,
        "created_on": timestamp(row.created_on),
    }


def custom_action(row) -> dict:
    return {
        "id": row.id,
        "title": row.title,
        "created_on": timestamp(row.created_on),
    }


class ProgressView:
    """Day rows as JSON; today's row shows the live rank."""

    def __init__(self, ranks: Ranks, floor: float):
        self._ranks = ranks
        self._floor = floor

    def live_rank(self, user_id: int) -> float | None:
        try:
            return self._ranks.percentile(user_id)
        except RedisError as exc:
            log.warning("rank set unreachable", extra={"error": str(exc)})
            return None

    def describe(
        self, session: Session, rows: list[DailyProgress], today: date
    ) -> list[dict]:
        if not rows:
            return []
        statuses = progress.goal_statuses(session, [row.id for row in rows])
        days = progress.checkin_days(
            session, rows[0].user_id, max(row.day for row in rows)
        )
        live = None
        if any(row.day == today for row in rows):
            live = self.live_rank(rows[0].user_id)
        found = []
        for row in rows:
            rank = row.engagement_rank
            if row.day == today and live is not None:
                rank = live
            found.append(
                {
                    "id": row.id,
                    "user": row.user_id,
                    "date": row.day.isoformat(),
                    **{name: getattr(row, name) for name in COUNTERS},
                    "goal_status": statuses[row.id],
                    "checkin_streak": progress.checkin_streak(days, row.day),
                    "engagement_15_days": row.engagement_15_days,
                    "engagement_30_days": row.engagement_30_days,
                    "engagement_60_days": row.engagement_60_days,
                    "engagement_rank": reported(rank, self._floor),
                    "updated_on": timestamp(row.updated_on),
                    "created_on": timestamp(row.created_on),
                    "object_type": "dailyprogress",
                }
            )
        return found

    def one(self, session: Session, row: DailyProgress, today: date):
        return self.describe(session, [row], today)[0]
