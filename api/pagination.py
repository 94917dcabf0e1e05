"""Paginated lists: {"count", "next", "previous", "results"}."""

from urllib.parse import urlencode

import falcon
from sqlalchemy import func, select

from api.body import query_int

PAGE_SIZE = 20
PAGE_SIZE_MAX = 100


def paginate(req: falcon.Request, session, query, describe) -> dict:
    """One page of `query`; `describe` turns the page's rows into JSON."""
    page = query_int(req, "page", 1)
    size = min(query_int(req, "page_size", PAGE_SIZE), PAGE_SIZE_MAX)
    count = session.scalar(
        select(func.count()).select_from(query.order_by(None).subquery())
    )
    last = max(1, -(-count // size))
    if page > last:
        raise falcon.HTTPNotFound(description="page: past the last page")
    rows = session.scalars(query.limit(size).offset((page - 1) * size)).all()
    return {
        "count": count,
        "next": _link(req, page + 1) if page < last else None,
        "previous": _link(req, page - 1) if page > 1 else None,
        "results": describe(rows),
    }


def _link(req: falcon.Request, page: int) -> str:
    params = {k: v for k, v in req.params.items() if k != "page"}
    params["page"] = page
    return f"{req.path}?{urlencode(params, doseq=True)}"
