import fakeredis
import pytest

from core import accounts
from core.access import Access
from core.accounts import Caller, hash_token
from tests.core.support import person


@pytest.fixture
def access(db, redis) -> Access:
    return Access(redis, db)


def test_caller_is_found_by_token_and_then_served_from_redis(
    world, access, db, monkeypatch
):
    user = person(world, "Asia/Kathmandu")
    first = access.caller(user.token)
    assert (first.id, first.timezone) == (user.id, "Asia/Kathmandu")

    def no_database():
        raise AssertionError("the database was asked")

    monkeypatch.setattr(db, "reading", no_database)
    second = access.caller(user.token)
    assert second == first


def test_unknown_token_has_no_caller(world, access):
    assert access.caller("not-a-token") is None


def test_time_zone_change_reaches_every_later_lookup(world, access):
    user = person(world, "UTC")
    access.caller(user.token)
    access.moved(hash_token(user.token), Caller(user.id, "Asia/Tokyo"))
    assert access.caller(user.token).timezone == "Asia/Tokyo"


def test_ownership_follows_selections_and_removals(world, access):
    user, other = person(world), person(world)
    chosen = user.select_action(world.action())
    assert access.owns(user.id, "action", chosen)
    assert not access.owns(other.id, "action", chosen)
    assert not access.owns(user.id, "customaction", chosen)

    custom = user.custom_action()
    access.added(user.id, "customaction", custom)
    assert access.owns(user.id, "customaction", custom)
    access.removed(user.id, "customaction", custom)
    world.db.write(
        lambda s: accounts.delete_custom_action(s, user.caller, custom)
    )
    assert not access.owns(user.id, "customaction", custom)


def test_a_selection_missing_from_redis_is_found_in_sql(world, access):
    user = person(world)
    first = user.select_action(world.action("Walk"))
    assert access.owns(user.id, "action", first)  # the set is now built
    second = user.select_action(world.action("Read"))  # never added
    assert access.owns(user.id, "action", second)


def test_with_redis_down_ownership_and_callers_come_from_sql(world, db):
    user = person(world)
    chosen = user.select_action(world.action())
    server = fakeredis.FakeServer()
    server.connected = False
    access = Access(fakeredis.FakeRedis(server=server), db)
    assert access.caller(user.token).id == user.id
    assert access.owns(user.id, "action", chosen)


def test_a_cached_caller_and_target_take_no_database_read(
    world, access, db, monkeypatch
):
    user = person(world, "Asia/Kathmandu")
    chosen = user.select_action(world.action())
    first = access.caller_owning(user.token, "action", chosen)
    assert first == (Caller(user.id, "Asia/Kathmandu"), True)

    def no_database():
        raise AssertionError("the database was asked")

    monkeypatch.setattr(db, "reading", no_database)
    assert access.caller_owning(user.token, "action", chosen) == first


def test_caller_owning_refuses_what_is_not_the_callers(world, access):
    user, other = person(world), person(world)
    theirs = other.select_action(world.action("Walk"))
    mine = user.select_action(world.action("Read"))
    for _ in range(2):  # from SQL, then from the cached set
        caller, owned = access.caller_owning(user.token, "action", theirs)
        assert (caller.id, owned) == (user.id, False)
        assert access.caller_owning(user.token, "customaction", mine)[1] is (
            False
        )
    assert access.caller_owning("not-a-token", "action", mine) == (
        None,
        False,
    )


def test_caller_owning_finds_in_sql_what_redis_missed(world, access):
    user = person(world)
    first = user.select_action(world.action("Walk"))
    assert access.caller_owning(user.token, "action", first)[1]
    second = user.select_action(world.action("Read"))  # never added
    assert access.caller_owning(user.token, "action", second)[1]


def test_with_redis_down_caller_owning_comes_from_sql(world, db):
    user = person(world)
    chosen = user.select_action(world.action())
    server = fakeredis.FakeServer()
    server.connected = False
    access = Access(fakeredis.FakeRedis(server=server), db)
    caller, owned = access.caller_owning(user.token, "action", chosen)
    assert (caller.id, owned) == (user.id, True)
