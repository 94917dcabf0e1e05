"""The hand-off of reports to the workers: a Redis stream.

The API and the CLI append checked reports to `dp:reports`; workers read
it through the consumer group `appliers` and acknowledge an entry only
after its batch is committed. An entry read by a worker that died is
claimed by another once it has been pending for `CLAIM_AFTER_MS`
(milliseconds, from the environment variable of that name).
"""

import hashlib
import os
import socket
from collections.abc import Iterable

from redis import Redis
from redis.exceptions import NoScriptError, ResponseError

from core.reports import Report

STREAM = "dp:reports"
DEAD = "dp:reports:dead"
GROUP = "appliers"
CLAIM_AFTER_MS = int(os.environ.get("CLAIM_AFTER_MS") or 30_000)


# Appends to the stream only while a key holds a value and a set holds a
# member, in one round trip: KEYS are the stream, the key and the set;
# ARGV the value, the member, then the entry's fields and values.
_XADD_IF = """
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return false end
if redis.call('SISMEMBER', KEYS[3], ARGV[2]) == 0 then return false end
return redis.call('XADD', KEYS[1], '*', unpack(ARGV, 3))
"""


def enqueue_report(redis: Redis, report: Report) -> str:
    """Queue one checked report; returns its entry id."""
    return redis.xadd(STREAM, report.to_fields()).decode()


class GuardedEnqueue:
    """`enqueue_report`, done only if Redis still holds what it was told:
    returns the entry id, or None when a condition failed.

    It is on every report's path, so it spares what it can: EVALSHA is
    sent directly (the script loaded when Redis lacks it), over a
    connection of its own (`Redis.client()`, taken on first use), so no
    call goes through the pool.
    """

    def __init__(self, redis: Redis):
        self._redis = redis
        self._own: Redis | None = None
        self._sha = hashlib.sha1(_XADD_IF.encode()).hexdigest()

    def _client(self) -> Redis:
        if self._own is None:
            self._own = self._redis.client()
        return self._own

    def __call__(
        self,
        report: Report,
        key_holds: tuple[str, str],
        set_has: tuple[str, str],
    ) -> str | None:
        (key, value), (members, member) = key_holds, set_has
        fields = [part for pair in report.to_fields().items() for part in pair]
        command = (3, STREAM, key, members, value, member, *fields)
        client = self._client()
        try:
            found = client.execute_command("EVALSHA", self._sha, *command)
        except NoScriptError:
            client.script_load(_XADD_IF)
            found = client.execute_command("EVALSHA", self._sha, *command)
        return found.decode() if found else None


def enqueue_reports(
    redis: Redis, reports: Iterable[Report], progress=None
) -> int:
    """Queue many reports, in order, in one round trip per thousand."""
    count = 0
    pipe = redis.pipeline(transaction=False)
    for report in reports:
        pipe.xadd(STREAM, report.to_fields())
        count += 1
        if count % 1000 == 0:
            pipe.execute()
            if progress:
                progress(1000)
    pipe.execute()
    if progress:
        progress(count % 1000)
    return count


def seq(entry_id: bytes | str) -> int:
    """An entry id as one integer that keeps the stream's order."""
    text = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
    millis, _, number = text.partition("-")
    return int(millis) * 1_000_000 + int(number)


def consumer_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


def ensure_group(redis: Redis) -> None:
    try:
        redis.xgroup_create(STREAM, GROUP, id="0", mkstream=True)
    except ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


def read_batch(redis: Redis, consumer: str, count: int) -> list[tuple]:
    """Entries to apply, in this order: this consumer's own unacknowledged
    ones (a failed batch), those a dead consumer left, then new ones."""
    for start in ("0", None):
        if start is None:
            _, claimed, *_ = redis.xautoclaim(
                STREAM, GROUP, consumer, CLAIM_AFTER_MS, "0-0", count=count
            )
            found = [("claimed", claimed)]
        else:
            found = redis.xreadgroup(
                GROUP, consumer, {STREAM: start}, count=count
            )
            found = found[0:1] if found else []
        entries = [e for _, batch in found for e in batch if e and e[1]]
        gone = [e[0] for _, batch in found for e in batch if e and not e[1]]
        ack(redis, gone)
        if entries:
            return entries
    found = redis.xreadgroup(GROUP, consumer, {STREAM: ">"}, count=count)
    return found[0][1] if found else []


def ack(redis: Redis, entry_ids: list) -> None:
    if entry_ids:
        with redis.pipeline() as pipe:
            pipe.xack(STREAM, GROUP, *entry_ids)
            pipe.xdel(STREAM, *entry_ids)
            pipe.execute()


def bury(redis: Redis, entry_id, fields: dict, reason: str) -> None:
    """Keep an entry that cannot be applied, for an operator to inspect."""
    with redis.pipeline() as pipe:
        pipe.xadd(DEAD, {**fields, "reason": reason[:500]})
        pipe.xack(STREAM, GROUP, entry_id)
        pipe.xdel(STREAM, entry_id)
        pipe.execute()


def backlog(redis: Redis) -> int:
    return redis.xlen(STREAM)
