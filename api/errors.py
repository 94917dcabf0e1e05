"""Every error answer is a JSON object with an `error` message."""

import logging

import falcon
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import DBAPIError

from core.db import is_transient

log = logging.getLogger("api.errors")
RETRY_AFTER = 5


def serialize(req, resp, exc: falcon.HTTPError) -> None:
    resp.content_type = falcon.MEDIA_JSON
    resp.media = {"error": exc.description or exc.title}


def _unavailable(what: str) -> falcon.HTTPServiceUnavailable:
    return falcon.HTTPServiceUnavailable(
        description=f"{what} is unavailable, try again later",
        retry_after=RETRY_AFTER,
    )


def redis_down(req, resp, exc, params) -> None:
    log.warning("redis unreachable", extra={"error": str(exc)})
    raise _unavailable("the queue")


def database_error(req, resp, exc, params) -> None:
    if not is_transient(exc):
        unexpected(req, resp, exc, params)
        return
    log.warning("database unreachable", extra={"error": str(exc.orig)})
    raise _unavailable("the database")


def unexpected(req, resp, exc, params) -> None:
    if isinstance(exc, falcon.HTTPError):
        raise exc
    log.exception(
        "unexpected error", extra={"method": req.method, "path": req.path}
    )
    raise falcon.HTTPInternalServerError(description="internal error")


def install(app: falcon.App) -> None:
    app.set_error_serializer(serialize)
    app.add_error_handler(Exception, unexpected)
    app.add_error_handler(DBAPIError, database_error)
    app.add_error_handler(
        (RedisConnectionError, RedisTimeoutError), redis_down
    )
