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
