"""Who is calling, and what they may report on, cached in Redis.

Every API request needs the caller (id and time zone) and every report
needs to know the caller owns its target. Both are read from Redis, and
from SQL only on a miss, so the hot path makes no database round trip.

- `dp:auth:<token hash>` holds "<user id> <time zone>"; a time-zone
  change rewrites it after the commit.
- `dp:targets:<user>` holds "action:<id>" and "customaction:<id>" of what
  the user selected or made, with the member `_built` once it is whole.
  A selection adds to it after the commit. A target missing from the set
  is looked up in SQL before the API says 404, so a lost update only
  costs time; a removal that did not reach Redis lets a report in for an
  action removed a moment ago, which is applied like any other report.
"""

import logging

from redis import Redis
from redis.exceptions import RedisError

from core import accounts
from core.accounts import Caller, hash_token
from core.db import Database

log = logging.getLogger(__name__)

AUTH_TTL = 600
TARGETS_TTL = 3600
BUILT = "_built"

# A report's caller and whether they own its target, in one round trip:
# {"<id> <zone>" or false, target in the set, the set is whole}.
_CALLER_AND_TARGET = """
local cached = redis.call('GET', KEYS[1])
if not cached then return {false, 0, 0} end
local user = string.match(cached, '^(%d+) ')
local key = 'dp:targets:' .. user
local found = redis.call('SMISMEMBER', key, ARGV[1], ARGV[2])
return {cached, found[1], found[2]}
"""


def _auth_key(digest: str) -> str:
    return f"dp:auth:{digest}"


def _targets_key(user_id: int) -> str:
    return f"dp:targets:{user_id}"


class Access:
    def __init__(self, redis: Redis, db: Database):
        self._redis = redis
        self._db = db
        self._caller_and_target = redis.register_script(_CALLER_AND_TARGET)

    def caller(self, token: str) -> Caller | None:
        digest = hash_token(token)
        try:
            cached = self._redis.get(_auth_key(digest))
        except RedisError as exc:
            log.warning("auth cache unreachable", extra={"error": str(exc)})
            cached = None
        if cached:
            user_id, zone = cached.decode().split(" ", 1)
            return Caller(int(user_id), zone)

        with self._db.reading() as session:
            caller = accounts.authenticate(session, token)
        if caller is not None:
            self._remember(digest, caller)
        return caller

    def moved(self, token_hash: str, caller: Caller) -> None:
        """The user's time zone changed: later requests see the new one."""
        self._remember(token_hash, caller)

    def _remember(self, digest: str, caller: Caller) -> None:
        value = f"{caller.id} {caller.timezone}"
        try:
            self._redis.set(_auth_key(digest), value, ex=AUTH_TTL)
        except RedisError as exc:
            log.warning("auth cache unreachable", extra={"error": str(exc)})

    def caller_owning(
        self, token: str, kind: str, target: int
    ) -> tuple[Caller | None, bool]:
        """The caller, and whether they own the target of their report."""
        member = f"{kind}:{target}"
        try:
            cached, found, built = self._caller_and_target(
                keys=[_auth_key(hash_token(token))], args=[member, BUILT]
            )
        except RedisError as exc:
            log.warning("auth cache unreachable", extra={"error": str(exc)})
            cached = None
        if not cached:
            caller = self.caller(token)
            owned = caller is not None and self.owns(caller.id, kind, target)
            return caller, owned
        user_id, zone = cached.decode().split(" ", 1)
        caller = Caller(int(user_id), zone)
        owned = bool(found) or self._owns_in_sql(
            caller.id, member, bool(built)
        )
        return caller, owned

    def owns(self, user_id: int, kind: str, target: int) -> bool:
        member = f"{kind}:{target}"
        key = _targets_key(user_id)
        try:
            found, built = self._redis.smismember(key, [member, BUILT])
        except RedisError as exc:
            log.warning("target cache unreachable", extra={"error": str(exc)})
            found = built = False
        return bool(found) or self._owns_in_sql(user_id, member, bool(built))

    def _owns_in_sql(self, user_id: int, member: str, built: bool) -> bool:
        """A member missing from the cached set, looked up in SQL."""
        key = _targets_key(user_id)
        with self._db.reading() as session:
            owned = accounts.targets(session, user_id)
        if not built:
            self._add(key, *owned, BUILT)
        elif member in owned:
            self._add(key, member)
        return member in owned

    def added(self, user_id: int, kind: str, target: int) -> None:
        self._add(_targets_key(user_id), f"{kind}:{target}")

    def removed(self, user_id: int, kind: str, target: int) -> None:
        try:
            self._redis.srem(_targets_key(user_id), f"{kind}:{target}")
        except RedisError as exc:
            log.warning("target cache unreachable", extra={"error": str(exc)})

    def _add(self, key: str, *members: str) -> None:
        try:
            with self._redis.pipeline() as pipe:
                pipe.sadd(key, *members)
                pipe.expire(key, TARGETS_TTL)
                pipe.execute()
        except RedisError as exc:
            log.warning("target cache unreachable", extra={"error": str(exc)})
