"""Token authentication for everything under /api/."""

import falcon

from core.access import Access


class TokenAuth:
    """Finds the caller of every /api/ request from their token.

    Runs after routing, so an unknown path is a 404 before it is a 401.
    A resource with a `target_kind` (a report) learns in the same step,
    and the same Redis round trip, whether the caller owns its target.
    """

    def __init__(self, access: Access):
        self._access = access

    def process_resource(self, req, resp, resource, params) -> None:
        if resource is None or not req.path.startswith("/api/"):
            return
        scheme, _, token = (req.auth or "").partition(" ")
        if scheme.lower() != "token" or not token.strip():
            raise falcon.HTTPUnauthorized(
                description="Authorization: Token <key> is required",
                challenges=["Token"],
            )
        kind = getattr(resource, "target_kind", None)
        if kind and "item_id" in params:
            caller, req.context.owns_target = self._access.caller_owning(
                token.strip(), kind, params["item_id"]
            )
        else:
            caller = self._access.caller(token.strip())
        if caller is None:
            raise falcon.HTTPUnauthorized(
                description="invalid token", challenges=["Token"]
            )
        req.context.caller = caller
