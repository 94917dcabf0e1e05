"""The caller's goals, actions and custom actions, and reports on them."""

import falcon
from sqlalchemy import select

from api import views
from api.body import id_field, read_object
from api.pagination import paginate
from core import accounts
from core.access import Access
from core.accounts import AccountError
from core.intake import Intake, NotCaller, NotOwned
from core.models import CustomAction, UserAction, UserGoal
from core.reports import ReportError
from core.services import Services


def _bad(exc: Exception) -> falcon.HTTPBadRequest:
    return falcon.HTTPBadRequest(description=str(exc))


class _Owned:
    """A list of the caller's rows of one model, newest first."""

    model = None
    describe = None

    def __init__(self, services: Services):
        self._db = services.db

    def on_get(self, req, resp):
        query = (
            select(self.model)
            .where(self.model.user_id == req.context.caller.id)
            .order_by(self.model.id.desc())
        )
        with self._db.reading() as session:
            resp.media = paginate(
                req, session, query, lambda rows: [*map(self.describe, rows)]
            )


class UserGoals(_Owned):
    model = UserGoal
    describe = staticmethod(views.user_goal)

    def on_post(self, req, resp):
        goal_id = id_field(read_object(req), "goal")
        caller = req.context.caller
        try:
            chosen, created = self._db.write(
                lambda s: accounts.select_goal(s, caller, goal_id)
            )
        except AccountError as exc:
            raise _bad(exc) from None
        resp.media = views.user_goal(chosen)
        resp.status = falcon.HTTP_201 if created else falcon.HTTP_200


class UserGoalItem:
    def __init__(self, services: Services):
        self._db = services.db

    def on_delete(self, req, resp, item_id: int):
        caller = req.context.caller
        if not self._db.write(
            lambda s: accounts.unselect_goal(s, caller, item_id)
        ):
            raise falcon.HTTPNotFound(description="goal not selected")
        resp.status = falcon.HTTP_204


class UserActions(_Owned):
    model = UserAction
    describe = staticmethod(views.user_action)

    def __init__(self, services: Services, access: Access):
        super().__init__(services)
        self._access = access

    def on_post(self, req, resp):
        action_id = id_field(read_object(req), "action")
        caller = req.context.caller
        try:
            chosen, created = self._db.write(
                lambda s: accounts.select_action(s, caller, action_id)
            )
        except AccountError as exc:
            raise _bad(exc) from None
        self._access.added(caller.id, "action", chosen.id)
        resp.media = views.user_action(chosen)
        resp.status = falcon.HTTP_201 if created else falcon.HTTP_200


class UserActionItem:
    def __init__(self, services: Services, access: Access):
        self._db = services.db
        self._access = access

    def on_delete(self, req, resp, item_id: int):
        caller = req.context.caller
        if not self._db.write(
            lambda s: accounts.unselect_action(s, caller, item_id)
        ):
            raise falcon.HTTPNotFound(description="no such user action")
        self._access.removed(caller.id, "action", item_id)
        resp.status = falcon.HTTP_204


class CustomActions(_Owned):
    model = CustomAction
    describe = staticmethod(views.custom_action)

    def __init__(self, services: Services, access: Access):
        super().__init__(services)
        self._access = access

    def on_post(self, req, resp):
        title = read_object(req).get("title")
        caller = req.context.caller
        try:
            custom = self._db.write(
                lambda s: accounts.create_custom_action(s, caller, title)
            )
        except AccountError as exc:
            raise _bad(exc) from None
        self._access.added(caller.id, "customaction", custom.id)
        resp.media = views.custom_action(custom)
        resp.status = falcon.HTTP_201


class CustomActionItem:
    def __init__(self, services: Services, access: Access):
        self._db = services.db
        self._access = access

    def on_delete(self, req, resp, item_id: int):
        caller = req.context.caller
        if not self._db.write(
            lambda s: accounts.delete_custom_action(s, caller, item_id)
        ):
            raise falcon.HTTPNotFound(description="no such custom action")
        self._access.removed(caller.id, "customaction", item_id)
        resp.status = falcon.HTTP_204


class Report:
    """POST .../{id}/complete/: check the report, queue it, answer 202."""

    checks_caller_again = True  # see intake.Intake.submit

    def __init__(self, intake: Intake, kind: str):
        self._intake = intake
        self._kind = kind

    def on_post(self, req, resp, item_id: int):
        body = read_object(req, optional=True)
        try:
            report = self._intake.submit(
                req.context.token,
                req.context.caller,
                self._kind,
                item_id,
                body,
            )
        except NotCaller:
            raise falcon.HTTPUnauthorized(
                description="invalid token", challenges=["Token"]
            ) from None
        except NotOwned:
            raise falcon.HTTPNotFound(
                description=f"no such {self._kind}"
            ) from None
        except ReportError as exc:
            raise _bad(exc) from None
        resp.media = {
            self._kind: item_id,
            "state": report.state,
            "date": report.day.isoformat(),
        }
        resp.status = falcon.HTTP_202
