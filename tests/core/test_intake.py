from datetime import UTC, datetime

import fakeredis
import pytest

from core import accounts, queue
from core.access import Access
from core.accounts import Caller, hash_token
from core.days import local_day
from core.intake import Intake, NotCaller, NotOwned
from core.reports import Report, ReportError
from tests.core.support import person


@pytest.fixture
def access(db, redis) -> Access:
    return Access(redis, db)


@pytest.fixture
def intake(access, redis) -> Intake:
    return Intake(access, redis)


def queued(broker) -> list[Report]:
    return [Report.from_fields(f) for _, f in broker.xrange(queue.STREAM)]


def known(access, user) -> Caller:
    """The caller as the API has it for a token it has seen before."""
    access.caller(user.token)
    return access.remembered(user.token)


def test_a_remembered_caller_is_queued_with_no_other_lookup(
    world, access, intake, redis, db, monkeypatch
):
    user = person(world, "Asia/Kathmandu")
    walk = user.select_action(world.action())
    intake.submit(user.token, known(access, user), "action", walk, {})

    def no_lookup(*args):
        raise AssertionError("looked up the long way")

    monkeypatch.setattr(db, "reading", no_lookup)
    monkeypatch.setattr(access, "caller", no_lookup)
    monkeypatch.setattr(access, "owns", no_lookup)
    caller = access.remembered(user.token)
    assert caller == Caller(user.id, "Asia/Kathmandu")
    sent = intake.submit(
        user.token, caller, "action", walk, {"state": "snoozed"}
    )
    assert (sent.user_id, sent.target_id, sent.state) == (
        user.id,
        walk,
        "snoozed",
    )
    assert queued(redis)[-1] == sent
    assert len(queued(redis)) == 2


def test_after_a_time_zone_change_a_stale_caller_is_dated_anew(
    world, access, intake, redis
):
    user = person(world, "Pacific/Kiritimati")
    walk = user.select_action(world.action())
    stale = known(access, user)
    first = intake.submit(user.token, stale, "action", walk, {})
    moved = Caller(user.id, "Pacific/Pago_Pago")  # 25 hours apart
    access.moved(hash_token(user.token), moved)

    before = datetime.now(UTC)
    sent = intake.submit(user.token, stale, "action", walk, {})
    after = datetime.now(UTC)
    assert sent.day in {
        local_day(before, moved.timezone),
        local_day(after, moved.timezone),
    }
    assert sent.day != local_day(after, stale.timezone)
    assert queued(redis) == [first, sent]
    assert access.remembered(user.token) == moved


def test_a_removed_or_foreign_target_is_refused_and_nothing_queued(
    world, access, intake, redis
):
    user, other = person(world), person(world)
    walk = user.select_action(world.action("Walk"))
    theirs = other.select_action(world.action("Read"))
    caller = known(access, user)
    intake.submit(user.token, caller, "action", walk, {})

    world.db.write(lambda s: accounts.unselect_action(s, user.caller, walk))
    access.removed(user.id, "action", walk)
    for target in (walk, theirs):
        with pytest.raises(NotOwned):
            intake.submit(user.token, caller, "action", target, {})
        with pytest.raises(NotOwned):  # not theirs comes before bad
            intake.submit(user.token, caller, "action", target, {"state": "x"})
    assert len(queued(redis)) == 1


def test_a_bad_body_on_an_owned_target_is_a_report_error(
    world, access, intake, redis
):
    user = person(world)
    walk = user.select_action(world.action())
    with pytest.raises(ReportError, match="state"):
        intake.submit(
            user.token, known(access, user), "action", walk, {"state": 1}
        )
    assert queued(redis) == []


def test_a_token_of_nobody_is_not_a_caller(world, intake, redis):
    user = person(world)
    walk = user.select_action(world.action())
    with pytest.raises(NotCaller):
        intake.submit("forged", Caller(user.id, "UTC"), "action", walk, {})
    assert queued(redis) == []


def test_an_expired_auth_entry_is_learned_again(world, access, intake, redis):
    user = person(world)
    walk = user.select_action(world.action())
    caller = known(access, user)
    redis.flushall()
    sent = intake.submit(user.token, caller, "action", walk, {})
    assert queued(redis) == [sent]
    assert redis.exists(f"dp:auth:{hash_token(user.token)}")


def test_with_a_broker_apart_reports_go_to_the_broker(world, db, redis):
    broker = fakeredis.FakeRedis(server=fakeredis.FakeServer())
    access = Access(redis, db, broker)
    intake = Intake(access, broker)
    user = person(world)
    walk = user.select_action(world.action())
    for _ in range(2):
        intake.submit(user.token, known(access, user), "action", walk, {})
    assert len(queued(broker)) == 2
    assert not redis.exists(queue.STREAM)
