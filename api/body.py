"""Reading request bodies and checking the values in them."""

import json

import falcon

LIMIT = 64 * 1024
INT_MAX = 2147483647


def read_json(req: falcon.Request, optional: bool = False):
    """The body as JSON, refused before parsing when too big or not JSON."""
    media_type = (req.content_type or "").split(";")[0].strip().lower()
    if media_type and media_type != "application/json":
        raise falcon.HTTPUnsupportedMediaType(
            description="Content-Type must be application/json"
        )
    if req.content_length is not None and req.content_length > LIMIT:
        raise falcon.HTTPContentTooLarge(description="the body is over 64 KiB")
    raw = req.bounded_stream.read(LIMIT + 1)
    if len(raw) > LIMIT:
        raise falcon.HTTPContentTooLarge(description="the body is over 64 KiB")
    if not raw.strip():
        if optional:
            return {}
        raise falcon.HTTPBadRequest(
            description="body: a JSON object is needed"
        )
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise falcon.HTTPBadRequest(
            description="body: not valid JSON"
        ) from None


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
    if not raw.isdigit() or int(raw) < 1 or len(raw) > 9:
        raise falcon.HTTPBadRequest(
            description=f"{name}: expected a positive integer"
        )
    return int(raw)
