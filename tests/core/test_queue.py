from dataclasses import replace
from datetime import date

import fakeredis
import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from core import queue
from core.reports import Report
from tests.core.support import report

DAY = date(2025, 6, 1)


def reports(n: int) -> list[Report]:
    return [report(1, target, day=DAY) for target in range(1, n + 1)]


def test_seq_keeps_the_order_of_stream_ids():
    ids = ["1717236000000-0", "1717236000000-1", "1717236000001-0"]
    assert [queue.seq(i) for i in ids] == sorted(queue.seq(i) for i in ids)
    assert queue.seq(b"1717236000000-12") == 1717236000000_000012
    assert queue.seq("1717236000000-999999") < queue.seq("1717236000001-0")


def test_enqueued_reports_come_back_in_order(redis):
    sent = reports(3)
    ids = [queue.enqueue_report(redis, r) for r in sent]
    assert [queue.seq(i) for i in ids] == sorted(queue.seq(i) for i in ids)
    assert [
        Report.from_fields(fields) for _, fields in redis.xrange(queue.STREAM)
    ] == sent
    assert queue.backlog(redis) == 3


def test_enqueue_many_keeps_order_and_reports_progress(redis):
    sent = reports(2500)
    progress = []
    assert queue.enqueue_reports(redis, sent, progress=progress.append) == (
        2500
    )
    assert progress == [1000, 1000, 500]
    found = [
        Report.from_fields(fields) for _, fields in redis.xrange(queue.STREAM)
    ]
    assert found == sent


def test_ensure_group_may_run_twice(redis):
    queue.ensure_group(redis)
    queue.ensure_group(redis)
    assert [g["name"] for g in redis.xinfo_groups(queue.STREAM)] == [
        b"appliers"
    ]


def test_read_batch_gives_new_entries_then_nothing(redis):
    queue.ensure_group(redis)
    for r in reports(3):
        queue.enqueue_report(redis, r)
    first = queue.read_batch(redis, "c1", 2)
    second = queue.read_batch(redis, "c2", 2)
    assert len(first) == 2 and len(second) == 1
    assert queue.read_batch(redis, "c3", 10) == []


def test_read_batch_gives_a_consumer_its_unacknowledged_entries_again(
    redis,
):
    queue.ensure_group(redis)
    for r in reports(3):
        queue.enqueue_report(redis, r)
    first = queue.read_batch(redis, "c1", 2)
    again = queue.read_batch(redis, "c1", 10)
    assert [e[0] for e in again] == [e[0] for e in first]
    queue.ack(redis, [e[0] for e in first])
    rest = queue.read_batch(redis, "c1", 10)
    assert len(rest) == 1 and rest[0][0] not in {e[0] for e in first}


def test_ack_removes_the_entries_from_the_stream(redis):
    queue.ensure_group(redis)
    for r in reports(2):
        queue.enqueue_report(redis, r)
    batch = queue.read_batch(redis, "c1", 10)
    queue.ack(redis, [e[0] for e in batch])
    assert queue.backlog(redis) == 0
    assert redis.xpending(queue.STREAM, queue.GROUP)["pending"] == 0


def test_bury_keeps_the_entry_aside_with_its_reason(redis):
    queue.ensure_group(redis)
    queue.enqueue_report(redis, reports(1)[0])
    (entry_id, fields), *_ = queue.read_batch(redis, "c1", 10)
    queue.bury(redis, entry_id, fields, "bad " * 200)
    assert queue.backlog(redis) == 0
    (_, dead), *_ = redis.xrange(queue.DEAD)
    assert Report.from_fields(dead) == reports(1)[0]
    assert len(dead[b"reason"]) == 500


def test_read_batch_claims_the_entries_a_dead_consumer_left(
    redis, monkeypatch
):
    queue.ensure_group(redis)
    for r in reports(3):
        queue.enqueue_report(redis, r)
    left = queue.read_batch(redis, "dead", 2)
    monkeypatch.setattr(queue, "CLAIM_AFTER_MS", 0)
    claimed = queue.read_batch(redis, "alive", 10)
    assert [e[0] for e in claimed] == [e[0] for e in left]
    assert len(queue.read_batch(redis, "alive", 10)) == 2


def test_a_queued_report_is_one_field_and_reads_back_whole():
    spaced = replace(report(7, 3, "snoozed", day=DAY), length="1 h 30 min")
    for sent in (spaced, report(7, 3, day=DAY)):
        fields = sent.to_fields()
        assert list(fields) == ["report"]
        assert Report.from_fields(fields) == sent
        encoded = {b"report": fields["report"].encode()}
        assert Report.from_fields(encoded) == sent


def test_an_entry_of_one_field_per_value_still_reads():
    sent = replace(report(7, 3, "dismissed", day=DAY), length="later")
    old = {
        "user": "7",
        "kind": "action",
        "target": "3",
        "state": "dismissed",
        "occurred_at": sent.occurred_at.isoformat(),
        "day": DAY.isoformat(),
        "length": "later",
    }
    assert Report.from_fields(old) == sent


@pytest.mark.parametrize(
    "packed", ["", "7 action 3", "x action 3 completed 2025-06-01 2025-06-01 "]
)
def test_a_malformed_entry_is_a_value_error(packed):
    with pytest.raises(ValueError):
        Report.from_fields({"report": packed})


def test_guarded_enqueue_appends_only_while_both_conditions_hold(redis):
    guarded = queue.GuardedEnqueue(redis)
    sent = report(1, 5, day=DAY)
    redis.set("owner", "1 UTC")
    redis.sadd("owned", "action:5")
    holds, has = ("owner", "1 UTC"), ("owned", "action:5")

    entry = guarded(sent, holds, has)  # loads the script on first use
    assert entry is not None
    assert guarded(sent, holds, has) is not None
    assert guarded(sent, ("owner", "1 Asia/Tokyo"), has) is None
    assert guarded(sent, holds, ("owned", "action:6")) is None
    assert guarded(sent, ("nobody", "1 UTC"), has) is None
    redis.script_flush()
    assert guarded(sent, holds, has) is not None

    found = redis.xrange(queue.STREAM)
    assert found[0][0].decode() == entry
    assert [Report.from_fields(f) for _, f in found] == [sent] * 3


def test_guarded_enqueue_raises_while_redis_is_away_then_recovers():
    server = fakeredis.FakeServer()
    redis = fakeredis.FakeRedis(server=server)
    redis.set("owner", "1 UTC")
    redis.sadd("owned", "action:5")
    guarded = queue.GuardedEnqueue(redis)
    sent = report(1, 5, day=DAY)
    holds, has = ("owner", "1 UTC"), ("owned", "action:5")
    server.connected = False
    for _ in range(2):  # before its connection exists, and with it
        with pytest.raises(RedisConnectionError):
            guarded(sent, holds, has)
        server.connected = True
        assert guarded(sent, holds, has) is not None
        server.connected = False
    server.connected = True
    assert queue.backlog(redis) == 2
