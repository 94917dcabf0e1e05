import pytest

from core import accounts
from core.accounts import AccountError
from tests.core.support import person


def test_create_user_refuses_an_unknown_time_zone(db):
    with pytest.raises(AccountError, match="^timezone: "):
        db.write(lambda s: accounts.create_user(s, "a@example.org", "Mars"))


def test_create_user_refuses_a_taken_email(db):
    db.write(lambda s: accounts.create_user(s, "a@example.org"))
    with pytest.raises(AccountError, match="^email: .* already taken"):
        db.write(lambda s: accounts.create_user(s, "a@example.org"))


def test_token_authenticates_its_user_only(db):
    user, token = db.write(
        lambda s: accounts.create_user(s, "a@example.org", "Asia/Kathmandu")
    )
    with db.reading() as session:
        assert accounts.authenticate(session, token) == accounts.Caller(
            user.id, "Asia/Kathmandu"
        )
        assert accounts.authenticate(session, token + "x") is None
    assert user.token_hash == accounts.hash_token(token) != token


def test_set_timezone_refuses_an_unknown_zone(db, world):
    user = person(world)
    with pytest.raises(AccountError, match="^timezone: "):
        db.write(lambda s: accounts.set_timezone(s, user.id, "Nowhere/City"))
    moved = db.write(
        lambda s: accounts.set_timezone(s, user.id, "Pacific/Chatham").timezone
    )
    assert moved == "Pacific/Chatham"


def test_ids_of_deleted_actions_are_never_given_again(db, world):
    # Recorded states name their target by id and outlive it.
    user = person(world)
    custom = user.custom_action()
    db.write(lambda s: accounts.delete_custom_action(s, user.caller, custom))
    assert user.custom_action() > custom

    chosen = user.select_action(world.action("Walk"))
    db.write(lambda s: accounts.unselect_action(s, user.caller, chosen))
    assert user.select_action(world.action("Read")) > chosen


def test_targets_are_what_the_user_selected_or_made(db, world):
    user, other = person(world), person(world)
    mine = user.select_action(world.action())
    custom = user.custom_action()
    with db.reading() as session:
        assert accounts.targets(session, user.id) == {
            f"action:{mine}",
            f"customaction:{custom}",
        }
        assert accounts.targets(session, other.id) == set()


def test_emails_differing_only_in_case_or_spaces_are_one_user(db):
    db.write(lambda s: accounts.create_user(s, "Ann@Example.org"))
    with pytest.raises(accounts.AccountError, match="already taken"):
        db.write(lambda s: accounts.create_user(s, "  ann@example.ORG "))
