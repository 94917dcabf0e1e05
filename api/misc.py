"""The catalogue, the caller's account, and the health checks."""

import falcon
from redis.exceptions import RedisError
from sqlalchemy import select, text
from sqlalchemy.exc import SQLAlchemyError

from api import views
from api.body import read_object
from api.pagination import paginate
from core import accounts, metrics
from core.access import Access
from core.accounts import AccountError, Caller
from core.models import Action, Goal, User
from core.services import Services


class Catalogue:
    def __init__(self, services: Services, model, describe):
        self._db = services.db
        self._model = model
        self._describe = describe

    def on_get(self, req, resp):
        query = select(self._model).order_by(self._model.id)
        with self._db.reading() as session:
            resp.media = paginate(
                req, session, query, lambda rows: [*map(self._describe, rows)]
            )


def goals(services: Services) -> Catalogue:
    return Catalogue(services, Goal, views.goal)


def actions(services: Services) -> Catalogue:
    return Catalogue(services, Action, views.action)


def _me(user: User) -> dict:
    return {"id": user.id, "email": user.email, "timezone": user.timezone}


class Me:
    def __init__(self, services: Services, access: Access):
        self._db = services.db
        self._access = access

    def on_get(self, req, resp):
        with self._db.reading() as session:
            resp.media = _me(session.get(User, req.context.caller.id))

    def on_patch(self, req, resp):
        body = read_object(req)
        unknown = sorted(set(body) - {"timezone", "id", "email"})
        if unknown:
            raise falcon.HTTPBadRequest(description=f"{unknown[0]}: unknown")
        caller = req.context.caller
        if "timezone" in body:
            try:
                user = self._db.write(
                    lambda s: accounts.set_timezone(
                        s, caller.id, body["timezone"]
                    )
                )
            except AccountError as exc:
                raise falcon.HTTPBadRequest(description=str(exc)) from None
            self._access.moved(user.token_hash, Caller(user.id, user.timezone))
            resp.media = _me(user)
        else:
            self.on_get(req, resp)


class Metrics:
    """Prometheus exposition, for operators; no token."""

    def __init__(self, services: Services):
        self._services = services

    def on_get(self, req, resp):
        data, content_type = metrics.scrape(
            self._services.broker, self._services.redis
        )
        resp.data = data
        resp.content_type = content_type


class Health:
    def on_get(self, req, resp):
        resp.media = {"status": "ok"}


class Ready:
    def __init__(self, services: Services):
        self._services = services

    def on_get(self, req, resp):
        checks = {
            "database": self._database,
            "redis": lambda: self._services.redis.ping(),
            "broker": lambda: self._services.broker.ping(),
        }
        report = {}
        for name, check in checks.items():
            try:
                check()
                report[name] = "ok"
            except (RedisError, SQLAlchemyError, OSError) as exc:
                report[name] = f"unavailable: {type(exc).__name__}"
        ready = all(value == "ok" for value in report.values())
        resp.media = {"ready": ready, **report}
        if not ready:
            resp.status = falcon.HTTP_503
            resp.retry_after = 5

    def _database(self):
        with self._services.db.reading() as session:
            session.execute(text("SELECT 1"))
