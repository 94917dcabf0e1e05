"""Day rows, check-ins and streaks of the caller."""

import json

import falcon
from sqlalchemy import select

from api.body import INT_MAX, is_int, query_int, read_object
from api.pagination import paginate
from api.views import ProgressView
from core import progress, streaks
from core.days import today
from core.models import COUNTERS, DailyProgress, UserGoal
from core.progress import lock_users
from core.services import Services

READ_ONLY = {
    "id",
    "user",
    "date",
    "checkin_streak",
    "engagement_15_days",
    "engagement_30_days",
    "engagement_60_days",
    "engagement_rank",
    "updated_on",
    "created_on",
    "object_type",
}


def writable(body: dict, low: int, high: int):
    """The counters and check-in map a client may set, checked."""
    unknown = sorted(set(body) - READ_ONLY - set(COUNTERS) - {"goal_status"})
    if unknown:
        raise falcon.HTTPBadRequest(description=f"{unknown[0]}: unknown field")
    counters = {}
    for name in COUNTERS:
        if name in body:
            value = body[name]
            if not is_int(value) or not 0 <= value <= INT_MAX:
                raise falcon.HTTPBadRequest(
                    description=f"{name}: an integer from 0 to {INT_MAX}"
                )
            counters[name] = value
    goal_status = None
    if "goal_status" in body:
        goal_status = _goal_status(body["goal_status"], low, high)
    return counters, goal_status


def _goal_status(value, low: int, high: int) -> dict[int, int]:
    if not isinstance(value, dict):
        raise falcon.HTTPBadRequest(description="goal_status: an object")
    found = {}
    for key, checkin in value.items():
        _, _, goal_id = key.partition("goal-")
        canonical = (
            goal_id.isascii()
            and goal_id.isdigit()
            and len(goal_id) <= 10
            and str(int(goal_id)) == goal_id
            and int(goal_id) >= 1
        )
        if not key.startswith("goal-") or not canonical:
            raise falcon.HTTPBadRequest(
                description=f"goal_status: bad key {key!r}, use goal-<id>"
            )
        if not is_int(checkin) or not low <= checkin <= high:
            raise falcon.HTTPBadRequest(
                description=f"goal_status: {key} must be from {low} to {high}"
            )
        if int(goal_id) > INT_MAX:
            raise falcon.HTTPBadRequest(
                description=f"goal_status: bad key {key!r}, use goal-<id>"
            )
        found[int(goal_id)] = checkin
    return found


class _Base:
    def __init__(self, services: Services, view: ProgressView):
        self._services = services
        self._db = services.db
        self._view = view
        self._cache = streaks.StreakCache(services.redis)

    def _settings(self):
        return self._services.settings

    def _write(self, req, row_of, body: dict):
        """Set the given fields on the row `row_of` picks; 404 if none."""
        caller = req.context.caller
        counters, goal_status = writable(
            body, self._settings().checkin_min, self._settings().checkin_max
        )

        def work(session):
            lock_users(session, [caller.id])
            row = row_of(session)
            if row is None:
                return None
            progress.write_fields(session, row.id, counters, goal_status)
            return row.id

        row_id = self._db.write(work)
        if row_id is None:
            raise falcon.HTTPNotFound(description="no such progress")
        return self._after_write(caller, row_id)

    def _after_write(self, caller, item_id: int) -> dict:
        with self._db.reading() as session:
            row = session.get(DailyProgress, item_id)
            streaks.refresh(self._cache, session, [(row.user_id, row.day)])
            return self._view.one(session, row, today(caller.timezone))


class ProgressList(_Base):
    def on_get(self, req, resp):
        caller = req.context.caller
        query = (
            select(DailyProgress)
            .where(DailyProgress.user_id == caller.id)
            .order_by(DailyProgress.day.desc())
        )
        with self._db.reading() as session:
            resp.media = paginate(
                req,
                session,
                query,
                lambda rows: self._view.describe(
                    session, rows, today(caller.timezone)
                ),
            )

    def on_post(self, req, resp):
        caller = req.context.caller
        body = read_object(req, optional=True)
        day = today(caller.timezone)
        created = []

        def row_of(session):
            created.append(_row(session, caller.id, day) is None)
            return progress.row_for(session, caller.id, day)

        resp.media = self._write(req, row_of, body)
        resp.status = falcon.HTTP_201 if created[-1] else falcon.HTTP_200


def _row(session, user_id, day):
    return session.scalars(
        select(DailyProgress).where(
            DailyProgress.user_id == user_id, DailyProgress.day == day
        )
    ).one_or_none()


class ProgressDetail(_Base):
    def _own(self, session, caller, item_id: int):
        row = session.get(DailyProgress, item_id)
        return row if row is not None and row.user_id == caller.id else None

    def on_get(self, req, resp, item_id: int):
        caller = req.context.caller
        with self._db.reading() as session:
            row = self._own(session, caller, item_id)
            if row is None:
                raise falcon.HTTPNotFound(description="no such progress")
            resp.media = self._view.one(session, row, today(caller.timezone))

    def on_put(self, req, resp, item_id: int):
        caller = req.context.caller
        body = read_object(req)
        resp.media = self._write(
            req, lambda session: self._own(session, caller, item_id), body
        )

    on_patch = on_put


class LatestProgress(_Base):
    def on_get(self, req, resp):
        caller = req.context.caller
        with self._db.reading() as session:
            row = session.scalars(
                select(DailyProgress)
                .where(DailyProgress.user_id == caller.id)
                .order_by(DailyProgress.day.desc())
                .limit(1)
            ).one_or_none()
            if row is None:
                raise falcon.HTTPNotFound(description="no progress yet")
            resp.media = self._view.one(session, row, today(caller.timezone))


class Checkin(_Base):
    def on_post(self, req, resp):
        caller = req.context.caller
        body = read_object(req)
        value = body.get("daily_checkin")
        low, high = self._settings().checkin_min, self._settings().checkin_max
        if not is_int(value) or not low <= value <= high:
            raise falcon.HTTPBadRequest(
                description=f"Invalid value: {json.dumps(value)}"
            )
        goal_id = body.get("goal")
        if not is_int(goal_id) or not 1 <= goal_id <= INT_MAX:
            raise falcon.HTTPBadRequest(
                description=f"User has no goal with id: {json.dumps(goal_id)}"
            )

        def work(session):
            lock_users(session, [caller.id])
            selected = session.scalar(
                select(UserGoal.id).where(
                    UserGoal.user_id == caller.id, UserGoal.goal_id == goal_id
                )
            )
            if selected is None:
                return None
            row = progress.row_for(session, caller.id, today(caller.timezone))
            progress.check_in(session, row.id, goal_id, value)
            return row.id

        row_id = self._db.write(work)
        if row_id is None:
            raise falcon.HTTPBadRequest(
                description=f"User has no goal with id: {goal_id}"
            )
        resp.media = self._after_write(caller, row_id)


class Streaks(_Base):
    def on_get(self, req, resp):
        caller = req.context.caller
        days = query_int(req, "days", 7)
        if days > streaks.LOOKBACK:
            raise falcon.HTTPBadRequest(
                description=f"days: an integer from 1 to {streaks.LOOKBACK}"
            )
        last = today(caller.timezone)
        with self._db.reading() as session:
            counts = streaks.read_counts(self._cache, session, caller.id, last)
        resp.media = {
            "count": days,
            "current_streak": streaks.current_streak(counts, last),
            "results": streaks.series(counts, last, days),
        }
