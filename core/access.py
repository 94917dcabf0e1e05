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

Each process also remembers the callers it has seen. A report from a
remembered caller goes to the queue in one round trip, by a script that
first checks Redis still holds that caller for the token (a time-zone
change rewrites it) and the target among theirs; when either fails,
the report takes the long way, and the process learns the caller anew.
"""

import logging

from redis import Redis
from redis.exceptions import RedisError

from core import accounts
from core.accounts import Caller, hash_token
from core.db import Database
from core.queue import GuardedEnqueue
from core.reports import Report

log = logging.getLogger(__name__)

AUTH_TTL = 600
TARGETS_TTL = 3600
BUILT = "_built"
REMEMBERED_MAX = 100_000  # callers per process, forgotten all at once


def _auth_key(digest: str) -> str:
    return f"dp:auth:{digest}"


def _targets_key(user_id: int) -> str:
    return f"dp:targets:{user_id}"


def _cached_value(caller: Caller) -> str:
    return f"{caller.id} {caller.timezone}"


class Access:
    def __init__(
        self, redis: Redis, db: Database, broker: Redis | None = None
    ):
        self._redis = redis
        self._db = db
        # The guarded append reads the caches and writes the stream in one
        # script, so only when both live in the same Redis.
        same = broker is None or broker is redis
        self._guarded = GuardedEnqueue(redis) if same else None
        self._seen: dict[str, Caller] = {}

    def caller(self, token: str) -> Caller | None:
        digest = hash_token(token)
        try:
            cached = self._redis.get(_auth_key(digest))
        except RedisError as exc:
            log.warning("auth cache unreachable", extra={"error": str(exc)})
            cached = None
        if cached:
            return self._seen_as(digest, cached)

        with self._db.reading() as session:
            caller = accounts.authenticate(session, token)
        if caller is not None:
            self._remember(digest, caller)
        return caller

    def remembered(self, token: str) -> Caller | None:
        """The caller this process last saw with the token, if any: no
        I/O, and not proof of anything until `enqueue_as` succeeds."""
        return self._seen.get(hash_token(token))

    def enqueue_as(self, token: str, caller: Caller, report: Report) -> bool:
        """Queue the report if Redis still has the token as `caller`'s
        and the target among theirs; False means check the long way."""
        if self._guarded is None:
            return False
        member = f"{report.kind}:{report.target_id}"
        holds = (_auth_key(hash_token(token)), _cached_value(caller))
        where = (_targets_key(caller.id), member)
        return self._guarded(report, holds, where) is not None

    def _seen_as(self, digest: str, cached: bytes) -> Caller:
        user_id, zone = cached.decode().split(" ", 1)
        caller = Caller(int(user_id), zone)
        self._see(digest, caller)
        return caller

    def _see(self, digest: str, caller: Caller) -> None:
        if len(self._seen) >= REMEMBERED_MAX:
            self._seen.clear()
        self._seen[digest] = caller

    def moved(self, token_hash: str, caller: Caller) -> None:
        """The user's time zone changed: later requests see the new one."""
        self._remember(token_hash, caller)

    def _remember(self, digest: str, caller: Caller) -> None:
        self._see(digest, caller)
        value = _cached_value(caller)
        try:
            self._redis.set(_auth_key(digest), value, ex=AUTH_TTL)
        except RedisError as exc:
            log.warning("auth cache unreachable", extra={"error": str(exc)})

    def owns(self, user_id: int, kind: str, target: int) -> bool:
        member = f"{kind}:{target}"
        key = _targets_key(user_id)
        try:
            found, built = self._redis.smismember(key, [member, BUILT])
        except RedisError as exc:
            log.warning("target cache unreachable", extra={"error": str(exc)})
            found = built = False
        if found:
            return True

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
