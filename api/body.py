"""Reading request bodies and checking the values in them."""

import json

import falcon
from gunicorn.http.errors import ParseException

LIMIT = 64 * 1024
INT_MAX = 2147483647


def read_json(req: falcon.Request, optional: bool = False):
    """The body as JSON, refused before parsing when too big or not JSON."""
    # No Content-Type at all is read as JSON; any other than JSON is not.
    media_type = (req.content_type or "").split(";")[0].strip().lower()
    if req.content_type is not None and media_type != "application/json":
        raise falcon.HTTPUnsupportedMediaType(
            description="Content-Type must be application/json"
        )
    if req.content_length is not None and req.content_length > LIMIT:
        raise falcon.HTTPContentTooLarge(description="the body is over 64 KiB")
    stream = req.bounded_stream
    if req.content_length is None and req.env.get("wsgi.input_terminated"):
        # A chunked body: the server ends the stream, but Falcon's bounded
        # stream would read nothing without a Content-Length.
        stream = req.stream
    try:
        raw = stream.read(LIMIT + 1)
    except (OSError, ParseException):
        # A broken chunked body, or a client that hung up part way: the
        # server's reader raises what a WSGI app cannot otherwise know.
        raise falcon.HTTPBadRequest(
            description="body: could not be read to its end"
        ) from None
    if len(raw) > LIMIT:
        raise falcon.HTTPContentTooLarge(description="the body is over 64 KiB")
    if req.content_length is not None and len(raw) < req.content_length:
        raise falcon.HTTPBadRequest(
            description="body: shorter than its Content-Length"
        )
    if not raw.strip():
        if optional:
            return {}
        raise falcon.HTTPBadRequest(
            description="body: a JSON object is needed"
        )
    try:
        body = json.loads(raw, parse_constant=_not_json)
    except (ValueError, UnicodeDecodeError):
        raise falcon.HTTPBadRequest(
            description="body: not valid JSON"
        ) from None
    except RecursionError:
        raise falcon.HTTPBadRequest(
            description="body: nested too deeply"
        ) from None
    if not _storable(body):
        raise falcon.HTTPBadRequest(
            description="body: strings may not hold NUL or lone surrogates"
        )
    return body


def _not_json(name: str):
    """NaN and Infinity: Python's parser takes them, JSON has no such."""
    raise ValueError(f"{name} is not JSON")


def _storable(body) -> bool:
    """No string the database or Redis would refuse (NUL, lone surrogate).

    Walked with a stack: a body may nest as deep as the parser allows.
    """
    stack = [body]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str):
            if "\x00" in item or not item.isascii() and not _utf8(item):
                return False
    return True


def _utf8(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def read_object(req: falcon.Request, optional: bool = False) -> dict:
    body = read_json(req, optional)
    if not isinstance(body, dict):
        raise falcon.HTTPBadRequest(description="body: expected a JSON object")
    return body


def is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def id_field(body: dict, name: str) -> int:
    value = body.get(name)
    if not is_int(value) or not 1 <= value <= INT_MAX:
        raise falcon.HTTPBadRequest(
            description=f"{name}: expected a positive integer id"
        )
    return value


def query_int(req: falcon.Request, name: str, default: int) -> int:
    raw = req.get_param(name)
    if raw is None:
        return default
    digits = raw.isascii() and raw.isdigit() and len(raw) <= 9
    if not digits or int(raw) < 1:
        raise falcon.HTTPBadRequest(
            description=f"{name}: expected an integer from 1 to 999999999"
        )
    return int(raw)
