"""Token authentication for everything under /api/."""

import falcon

from core.access import Access


class TokenAuth:
    """Finds the caller of every /api/ request from their token.

    Runs after routing, so an unknown path is a 404 before it is a 401.
    A resource that checks the caller again as it finishes (a report)
    takes the caller this process remembers for the token, with no I/O.
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
        token = token.strip()
        caller = None
        if getattr(resource, "checks_caller_again", False):
            caller = self._access.remembered(token)
        caller = caller or self._access.caller(token)
        if caller is None:
            raise falcon.HTTPUnauthorized(
                description="invalid token", challenges=["Token"]
            )
        req.context.caller = caller
        req.context.token = token
