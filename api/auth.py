"""Token authentication for everything under /api/."""

import threading

import falcon
from cachetools import TTLCache
from sqlalchemy import select

from core.accounts import Caller, authenticate, hash_token
from core.db import Database
from core.models import User


class TokenAuth:
    """Looks the token up, then keeps it for a few seconds per process.

    Runs after routing, so an unknown path is a 404 before it is a 401.
    """

    def __init__(self, db: Database, seconds: float):
        self._db = db
        self._cache: TTLCache = TTLCache(maxsize=100_000, ttl=seconds)
        self._lock = threading.Lock()

    def process_resource(self, req, resp, resource, params) -> None:
        if resource is None or not req.path.startswith("/api/"):
            return
        scheme, _, token = (req.auth or "").partition(" ")
        if scheme.lower() != "token" or not token.strip():
            raise falcon.HTTPUnauthorized(
                description="Authorization: Token <key> is required",
                challenges=["Token"],
            )
        req.context.caller = self.caller(token.strip())

    def caller(self, token: str) -> Caller:
        # Only the token's owner is kept: another process may change the
        # user's time zone at any moment, so it is read on every request.
        digest = hash_token(token)
        with self._lock:
            user_id = self._cache.get(digest)
        with self._db.reading() as session:
            if user_id is None:
                caller = authenticate(session, token)
            else:
                zone = session.scalar(
                    select(User.timezone).where(User.id == user_id)
                )
                caller = None if zone is None else Caller(user_id, zone)
        if caller is None:
            raise falcon.HTTPUnauthorized(
                description="invalid token", challenges=["Token"]
            )
        with self._lock:
            self._cache[digest] = caller.id
        return caller

    def forget(self, caller: Caller) -> None:
        """Drop a user's cached entries."""
        with self._lock:
            for digest, user_id in list(self._cache.items()):
                if user_id == caller.id:
                    del self._cache[digest]
