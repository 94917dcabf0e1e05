"""The WSGI app: `create_app()` wires the services into the resources."""

import logging
import time

import falcon
from falcon.routing import BaseConverter

from api import errors, misc, page, progress, selections
from api.auth import TokenAuth
from api.body import INT_MAX
from api.openapi import OpenAPI
from api.views import ProgressView
from core import logs, metrics
from core.access import Access
from core.intake import Intake
from core.ranks import Ranks
from core.services import Services
from core.settings import Settings

log = logging.getLogger("api.requests")


class RequestLog:
    """One log line and the metrics of each request."""

    def process_request(self, req, resp):
        req.context.started = time.perf_counter()

    def process_response(self, req, resp, resource, req_succeeded):
        seconds = time.perf_counter() - req.context.started
        route = req.uri_template or "unmatched"
        status = resp.status_code
        metrics.REQUESTS.labels(route, req.method, status).inc()
        metrics.LATENCY.labels(route, req.method).observe(seconds)
        if route.endswith("/complete/") and req.method == "POST":
            if status == 202:
                kind = route.split("/")[3].removesuffix("s")
                metrics.REPORTS_ACCEPTED.labels(kind).inc()
            else:
                metrics.REPORTS_REJECTED.labels(status).inc()
        caller = getattr(req.context, "caller", None)
        log.info(
            "request",
            extra={
                "method": req.method,
                "path": req.path,
                "route": route,
                "status": status,
                "ms": round(seconds * 1000, 2),
                "user": caller.id if caller else None,
            },
        )


class IdConverter(BaseConverter):
    """An id in a path, written as the API writes it: ASCII digits, no
    sign, no leading zero, 1 to 2147483647. Anything else matches no
    route, so it is a 404 (`int()` would take "+1", "007" and "１")."""

    def convert(self, value: str) -> int | None:
        canonical = value.isascii() and value.isdigit() and value[0] != "0"
        if not canonical or len(value) > len(str(INT_MAX)):
            return None
        number = int(value)
        return number if number <= INT_MAX else None


def create_app(
    settings: Settings | None = None, services: Services | None = None
) -> falcon.App:
    settings = settings or Settings.from_env()
    services = services or Services.from_settings(settings)
    access = Access(services.redis, services.db, services.broker)
    intake = Intake(access, services.broker)
    auth = TokenAuth(access)
    view = ProgressView(Ranks(services.redis), settings.rank_floor)

    app = falcon.App(middleware=[RequestLog(), auth])
    app.req_options.auto_parse_form_urlencoded = False
    app.router_options.converters["id"] = IdConverter
    errors.install(app)

    me = "/api/users"
    item = "{item_id:id}"
    route = app.add_route
    route("/healthz", misc.Health())
    route("/readyz", misc.Ready(services))
    route("/openapi.json", OpenAPI())
    route("/progress", page.PageRedirect())
    route("/progress/", page.ProgressPage())
    route("/static/{name}", page.StaticFiles())
    route("/metrics", misc.Metrics(services))
    route("/api/goals/", misc.goals(services))
    route("/api/actions/", misc.actions(services))
    route(f"{me}/me/", misc.Me(services, access))
    route(f"{me}/goals/", selections.UserGoals(services))
    route(f"{me}/goals/{item}/", selections.UserGoalItem(services))
    route(f"{me}/actions/", selections.UserActions(services, access))
    route(f"{me}/actions/{item}/", selections.UserActionItem(services, access))
    route(
        f"{me}/actions/{item}/complete/",
        selections.Report(intake, "action"),
    )
    route(f"{me}/customactions/", selections.CustomActions(services, access))
    route(
        f"{me}/customactions/{item}/",
        selections.CustomActionItem(services, access),
    )
    route(
        f"{me}/customactions/{item}/complete/",
        selections.Report(intake, "customaction"),
    )
    route(f"{me}/progress/", progress.ProgressList(services, view))
    route(f"{me}/progress/{item}/", progress.ProgressDetail(services, view))
    route(f"{me}/progress/latest/", progress.LatestProgress(services, view))
    route(f"{me}/progress/checkin/", progress.Checkin(services, view))
    route(f"{me}/progress/streaks/", progress.Streaks(services, view))
    return app


def _wsgi_app() -> falcon.App:
    logs.configure()
    return create_app()


class _Lazy:
    """Builds the app on first use, so importing this module is cheap."""

    def __init__(self):
        self._app = None

    def __call__(self, environ, start_response):
        if self._app is None:
            self._app = _wsgi_app()
        return self._app(environ, start_response)


app = _Lazy()
