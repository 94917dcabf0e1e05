"""The OpenAPI 3 document of the API, served at /openapi.json."""

from api.progress import READ_ONLY
from core.models import COUNTERS

INT_MAX = 2147483647
ID = {"type": "integer", "minimum": 1, "maximum": INT_MAX}
COUNT = {"type": "integer", "minimum": 0, "maximum": INT_MAX}
STAMP = {"type": "string", "format": "date-time"}
PERCENT = {"type": "number", "minimum": 0, "maximum": 100}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _object(properties: dict, required=None, extra=False) -> dict:
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties) if required is None else required,
        "additionalProperties": extra,
    }


def _page(item: str) -> dict:
    link = {"type": ["string", "null"]}
    return _object(
        {
            "count": COUNT,
            "next": link,
            "previous": link,
            "results": {"type": "array", "items": _ref(item)},
        }
    )


SCHEMAS = {
    "Error": _object({"error": {"type": "string"}}),
    "Goal": _object({"id": ID, "title": {"type": "string"}}),
    "Action": _object(
        {
            "id": ID,
            "title": {"type": "string"},
            "goal": {"oneOf": [ID, {"type": "null"}]},
        }
    ),
    "UserGoal": _object({"id": ID, "goal": ID, "created_on": STAMP}),
    "UserAction": _object({"id": ID, "action": ID, "created_on": STAMP}),
    "CustomAction": _object(
        {"id": ID, "title": {"type": "string"}, "created_on": STAMP}
    ),
    "Me": _object(
        {
            "id": ID,
            "email": {"type": "string"},
            "timezone": {"type": "string"},
        }
    ),
    "GoalStatus": {
        "type": "object",
        "propertyNames": {"pattern": "^goal-[1-9][0-9]*$"},
        "additionalProperties": {"type": "integer"},
    },
    "DailyProgress": _object(
        {
            "id": ID,
            "user": ID,
            "date": {"type": "string", "format": "date"},
            **{name: COUNT for name in COUNTERS},
            "goal_status": _ref("GoalStatus"),
            "checkin_streak": COUNT,
            "engagement_15_days": PERCENT,
            "engagement_30_days": PERCENT,
            "engagement_60_days": PERCENT,
            "engagement_rank": PERCENT,
            "updated_on": STAMP,
            "created_on": STAMP,
            "object_type": {"const": "dailyprogress"},
        }
    ),
    "ProgressWrite": _object(
        {
            **{name: COUNT for name in COUNTERS},
            "goal_status": _ref("GoalStatus"),
            # A row sent back whole: its read-only fields are ignored.
            **{name: {} for name in sorted(READ_ONLY)},
        },
        required=[],
    ),
    "Report": _object(
        {
            "state": {
                "enum": ["completed", "snoozed", "dismissed", "uncompleted"]
            },
            "occurred_at": STAMP,
            "length": {"type": "string", "maxLength": 64},
        },
        required=[],
        extra=True,
    ),
    "Accepted": {
        "type": "object",
        "properties": {
            "action": ID,
            "customaction": ID,
            "state": {"type": "string"},
            "date": {"type": "string", "format": "date"},
        },
        "required": ["state", "date"],
    },
    "Streaks": _object(
        {
            "count": ID,
            "current_streak": COUNT,
            "results": {
                "type": "array",
                "items": _object(
                    {
                        "date": {"type": "string", "format": "date"},
                        "day": {"type": "string"},
                        "count": COUNT,
                    }
                ),
            },
        }
    ),
    "Page_Goal": _page("Goal"),
    "Page_Action": _page("Action"),
    "Page_UserGoal": _page("UserGoal"),
    "Page_UserAction": _page("UserAction"),
    "Page_CustomAction": _page("CustomAction"),
    "Page_DailyProgress": _page("DailyProgress"),
}


def _json(schema: dict, description: str = "OK") -> dict:
    return {
        "description": description,
        "content": {"application/json": {"schema": schema}},
    }


ERRORS = {
    "400": "bad input",
    "401": "missing or bad token",
    "404": "unknown path, id, or another user's object",
    "413": "body over 64 KiB",
    "415": "Content-Type is not JSON",
    "503": "a backing service is down; see Retry-After",
}


def _operation(summary: str, ok: dict, body=None, params=()) -> dict:
    responses = dict(ok)
    for code, text in ERRORS.items():
        responses[code] = _json(_ref("Error"), text)
    operation = {"summary": summary, "responses": responses}
    if params:
        operation["parameters"] = list(params)
    if body is not None:
        operation["requestBody"] = {
            "required": False,
            "content": {"application/json": {"schema": body}},
        }
    return operation


def _path_id(name: str = "item_id") -> dict:
    return {"name": name, "in": "path", "required": True, "schema": ID}


def _query(name: str, maximum: int | None = None) -> dict:
    schema = {"type": "integer", "minimum": 1}
    if maximum:
        schema["maximum"] = maximum
    return {"name": name, "in": "query", "required": False, "schema": schema}


PAGING = (_query("page", 10**6), _query("page_size", 100))


def _list(summary: str, item: str) -> dict:
    return _operation(
        summary, {"200": _json(_ref(f"Page_{item}"))}, None, PAGING
    )


def _select(field: str, item: str) -> dict:
    return _operation(
        f"select a {field}",
        {"200": _json(_ref(item)), "201": _json(_ref(item), "Created")},
        _object({field: ID}, extra=True),
    )


def _delete(summary: str) -> dict:
    return _operation(
        summary, {"204": {"description": "Deleted"}}, None, [_path_id()]
    )


def _report(summary: str) -> dict:
    return _operation(
        summary,
        {"202": _json(_ref("Accepted"), "Queued")},
        _ref("Report"),
        [_path_id()],
    )


def _row(summary: str, code: str = "200", body=None, params=()) -> dict:
    return _operation(
        summary, {code: _json(_ref("DailyProgress"))}, body, params
    )


PATHS = {
    "/healthz": {
        "get": {
            "summary": "the process is alive",
            "security": [],
            "responses": {"200": _json({"type": "object"})},
        }
    },
    "/readyz": {
        "get": {
            "summary": "database, Redis and broker are reachable",
            "security": [],
            "responses": {
                "200": _json({"type": "object"}),
                "503": _json({"type": "object"}, "not ready"),
            },
        }
    },
    "/openapi.json": {
        "get": {
            "summary": "this document",
            "security": [],
            "responses": {"200": _json({"type": "object"})},
        }
    },
    "/metrics": {
        "get": {
            "summary": "Prometheus metrics of the API and the workers",
            "security": [],
            "responses": {
                "200": {
                    "description": "OK",
                    "content": {"text/plain": {"schema": {"type": "string"}}},
                }
            },
        }
    },
    "/progress": {
        "get": {
            "summary": "redirects to the progress page",
            "security": [],
            "responses": {"301": {"description": "to /progress/"}},
        }
    },
    "/progress/": {
        "get": {
            "summary": "the progress page (HTML; it asks for the token)",
            "security": [],
            "responses": {
                "200": {
                    "description": "the page",
                    "content": {"text/html": {"schema": {"type": "string"}}},
                },
                "304": {"description": "not modified"},
            },
        }
    },
    "/static/{name}": {
        "get": {
            "summary": "a file of the progress page (script, style sheet)",
            "security": [],
            "parameters": [
                {
                    "name": "name",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string"},
                }
            ],
            "responses": {
                "200": {
                    "description": "the file",
                    "content": {
                        "text/javascript": {"schema": {"type": "string"}},
                        "text/css": {"schema": {"type": "string"}},
                        "text/plain": {"schema": {"type": "string"}},
                    },
                },
                "304": {"description": "not modified"},
                "404": _json(_ref("Error"), "no such file"),
            },
        }
    },
    "/api/goals/": {"get": _list("the goals", "Goal")},
    "/api/actions/": {"get": _list("the actions", "Action")},
    "/api/users/me/": {
        "get": _operation("the caller", {"200": _json(_ref("Me"))}),
        "patch": _operation(
            "change the caller's time zone",
            {"200": _json(_ref("Me"))},
            _object({"timezone": {"type": "string"}}, required=[]),
        ),
    },
    "/api/users/goals/": {
        "get": _list("the caller's goals", "UserGoal"),
        "post": _select("goal", "UserGoal"),
    },
    "/api/users/goals/{item_id}/": {"delete": _delete("unselect a goal")},
    "/api/users/actions/": {
        "get": _list("the caller's actions", "UserAction"),
        "post": _select("action", "UserAction"),
    },
    "/api/users/actions/{item_id}/": {"delete": _delete("unselect an action")},
    "/api/users/actions/{item_id}/complete/": {
        "post": _report("report on a selected action")
    },
    "/api/users/customactions/": {
        "get": _list("the caller's custom actions", "CustomAction"),
        "post": _operation(
            "create a custom action",
            {"201": _json(_ref("CustomAction"), "Created")},
            _object(
                {
                    "title": {
                        "type": "string",
                        "minLength": 1,
                        "maxLength": 256,
                    }
                },
                extra=True,
            ),
        ),
    },
    "/api/users/customactions/{item_id}/": {
        "delete": _delete("delete a custom action")
    },
    "/api/users/customactions/{item_id}/complete/": {
        "post": _report("report on a custom action")
    },
    "/api/users/progress/": {
        "get": _list("the caller's day rows, newest first", "DailyProgress"),
        "post": _operation(
            "set fields on today's row",
            {
                "200": _json(_ref("DailyProgress")),
                "201": _json(_ref("DailyProgress"), "Created"),
            },
            _ref("ProgressWrite"),
        ),
    },
    "/api/users/progress/{item_id}/": {
        "get": _row("one day row", params=[_path_id()]),
        "put": _row(
            "set fields", body=_ref("ProgressWrite"), params=[_path_id()]
        ),
        "patch": _row(
            "set fields", body=_ref("ProgressWrite"), params=[_path_id()]
        ),
    },
    "/api/users/progress/latest/": {"get": _row("the newest day row")},
    "/api/users/progress/checkin/": {
        "post": _row(
            "check in on a goal today",
            body=_object(
                {"goal": ID, "daily_checkin": {"type": "integer"}}, extra=True
            ),
        )
    },
    "/api/users/progress/streaks/": {
        "get": _operation(
            "completions per day",
            {"200": _json(_ref("Streaks"))},
            None,
            [_query("days", 366)],
        )
    },
}


# gunicorn answers a request line over 4094 bytes itself, with an HTML
# page: no route of the app ever sees it.
TOO_LONG = {
    "description": "request line over 4094 bytes, refused by gunicorn",
    "content": {"text/html": {"schema": {"type": "string"}}},
}


def _with_server_answers(paths: dict) -> dict:
    return {
        path: {
            method: {
                **operation,
                "responses": {**operation["responses"], "414": TOO_LONG},
            }
            for method, operation in operations.items()
        }
        for path, operations in paths.items()
    }


def document() -> dict:
    return {
        "openapi": "3.1.0",
        "info": {"title": "Daily Progress service", "version": "1"},
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "token": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "Authorization",
                    "description": "Token <key>",
                }
            },
        },
        "security": [{"token": []}],
        "paths": _with_server_answers(PATHS),
    }


class OpenAPI:
    def __init__(self):
        self._document = document()

    def on_get(self, req, resp):
        resp.media = self._document
