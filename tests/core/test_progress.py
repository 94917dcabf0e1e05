from datetime import date, timedelta

from sqlalchemy import func, select, update

from core import accounts
from core.models import DailyProgress
from core.progress import (
    check_in,
    checkin_days,
    checkin_streak,
    ensure_rows,
    goal_statuses,
    lock_users,
    refresh_totals,
    row_for,
    write_fields,
)
from tests.core.support import person, row, rows

PAST = date(2020, 1, 1)


def totals(found: DailyProgress) -> tuple[int, int]:
    return found.actions_total, found.customactions_total


def newest(db, user_id) -> DailyProgress:
    return rows(db, user_id)[-1]


def test_selecting_actions_updates_todays_totals(db, world):
    user = person(world, "Asia/Kathmandu")
    user.select_action(world.action("Walk"))
    assert totals(newest(db, user.id)) == (1, 0)
    user.select_action(world.action("Read"))
    assert totals(newest(db, user.id)) == (2, 0)
    assert len(rows(db, user.id)) == 1


def test_selecting_an_action_twice_counts_it_once(db, world):
    user = person(world)
    action = world.action()
    first = user.select_action(action)
    assert user.select_action(action) == first
    assert totals(newest(db, user.id)) == (1, 0)


def test_unselecting_an_action_updates_todays_totals(db, world):
    user = person(world)
    walk = user.select_action(world.action("Walk"))
    user.select_action(world.action("Read"))
    assert db.write(lambda s: accounts.unselect_action(s, user.caller, walk))
    assert totals(newest(db, user.id)) == (1, 0)


def test_unselecting_an_unknown_action_changes_nothing(db, world):
    user = person(world)
    user.select_action(world.action())
    version = newest(db, user.id).version
    assert not db.write(
        lambda s: accounts.unselect_action(s, user.caller, 999)
    )
    assert newest(db, user.id).version == version
    assert totals(newest(db, user.id)) == (1, 0)


def test_creating_and_deleting_custom_actions_update_todays_totals(db, world):
    user = person(world, "Pacific/Chatham")
    first = user.custom_action("Stretch")
    user.custom_action("Breathe")
    assert totals(newest(db, user.id)) == (0, 2)
    assert db.write(
        lambda s: accounts.delete_custom_action(s, user.caller, first)
    )
    assert totals(newest(db, user.id)) == (0, 1)


def test_a_past_row_keeps_its_totals(db, world):
    user = person(world)
    user.select_action(world.action("Walk"))
    user.custom_action()
    db.write(lambda s: ensure_rows(s, [(user.id, PAST)]))
    assert totals(row(db, user.id, PAST)) == (1, 1)

    user.select_action(world.action("Read"))
    user.custom_action("Breathe")
    walk_gone = user.select_action(world.action("Swim"))
    db.write(lambda s: accounts.unselect_action(s, user.caller, walk_gone))
    assert totals(row(db, user.id, PAST)) == (1, 1)
    assert totals(newest(db, user.id)) == (2, 2)


def test_a_new_days_row_starts_from_the_current_totals(db, world):
    user = person(world)
    user.select_action(world.action("Walk"))
    user.select_action(world.action("Read"))
    user.custom_action()
    later = newest(db, user.id).day + timedelta(days=1)
    db.write(lambda s: ensure_rows(s, [(user.id, later)]))
    assert totals(row(db, user.id, later)) == (2, 1)


def test_totals_count_only_the_users_own_selections(db, world):
    user, other = person(world), person(world)
    action = world.action()
    other.select_action(action)
    other.custom_action()
    user.select_action(action)
    assert totals(newest(db, user.id)) == (1, 0)


def test_refresh_totals_creates_the_row_for_the_given_day(db, world):
    user = person(world)
    user.custom_action()
    db.write(lambda s: refresh_totals(s, user.id, PAST))
    assert totals(row(db, user.id, PAST)) == (0, 1)


def test_ensure_rows_never_makes_a_second_row_for_a_day(db, world):
    user = person(world)
    db.write(lambda s: ensure_rows(s, [(user.id, PAST), (user.id, PAST)]))
    db.write(lambda s: ensure_rows(s, [(user.id, PAST)]))
    with db.reading() as session:
        count = session.scalar(
            select(func.count()).where(DailyProgress.user_id == user.id)
        )
    assert count == 1


def test_ensure_rows_leaves_an_existing_row_alone(db, world):
    user = person(world)
    db.write(lambda s: ensure_rows(s, [(user.id, PAST)]))
    row_id = row(db, user.id, PAST).id
    db.write(lambda s: write_fields(s, row_id, {"actions_completed": 4}, None))
    user.select_action(world.action())
    db.write(lambda s: ensure_rows(s, [(user.id, PAST)]))
    found = row(db, user.id, PAST)
    assert (found.actions_completed, found.actions_total) == (4, 0)


def test_ensure_rows_carries_the_previous_rows_engagement(db, world):
    user = person(world)
    db.write(lambda s: ensure_rows(s, [(user.id, PAST)]))
    db.write(
        lambda s: s.execute(
            update(DailyProgress)
            .where(DailyProgress.user_id == user.id)
            .values(
                engagement_15_days=40.0,
                engagement_30_days=30.0,
                engagement_60_days=20.0,
                engagement_rank=55.5,
            )
        )
    )
    later, before = PAST + timedelta(days=3), PAST - timedelta(days=3)
    db.write(lambda s: ensure_rows(s, [(user.id, later), (user.id, before)]))
    carried = row(db, user.id, later)
    assert (
        carried.engagement_15_days,
        carried.engagement_30_days,
        carried.engagement_60_days,
        carried.engagement_rank,
    ) == (40.0, 30.0, 20.0, 55.5)
    assert row(db, user.id, before).engagement_15_days == 0.0


def test_row_for_returns_the_one_row_of_the_day(db, world):
    user = person(world)
    first = db.write(lambda s: row_for(s, user.id, PAST).id)
    assert db.write(lambda s: row_for(s, user.id, PAST).id) == first


def test_write_fields_sets_only_the_given_counters(db, world):
    user = person(world)
    db.write(lambda s: ensure_rows(s, [(user.id, PAST)]))
    before = row(db, user.id, PAST)
    db.write(
        lambda s: write_fields(
            s, before.id, {"actions_snoozed": 3, "engagement_rank": 9}, None
        )
    )
    after = row(db, user.id, PAST)
    assert after.actions_snoozed == 3
    assert after.engagement_rank == 0.0
    assert after.actions_completed == before.actions_completed
    assert after.version == before.version + 1


def test_write_fields_replaces_the_whole_checkin_map(db, world):
    user = person(world)
    row_id = db.write(lambda s: row_for(s, user.id, PAST).id)
    db.write(lambda s: write_fields(s, row_id, {}, {1: 3, 2: 5}))
    db.write(lambda s: write_fields(s, row_id, {}, {2: 1}))
    with db.reading() as session:
        assert goal_statuses(session, [row_id]) == {row_id: {"goal-2": 1}}
    db.write(lambda s: write_fields(s, row_id, {}, {}))
    with db.reading() as session:
        assert goal_statuses(session, [row_id]) == {row_id: {}}


def test_write_fields_without_a_map_keeps_the_checkins(db, world):
    user = person(world)
    row_id = db.write(lambda s: row_for(s, user.id, PAST).id)
    db.write(lambda s: check_in(s, row_id, 4, 2))
    db.write(lambda s: write_fields(s, row_id, {"actions_total": 1}, None))
    with db.reading() as session:
        assert goal_statuses(session, [row_id]) == {row_id: {"goal-4": 2}}


def test_check_in_keeps_other_goals_and_replaces_its_own(db, world):
    user = person(world)
    row_id = db.write(lambda s: row_for(s, user.id, PAST).id)
    version = row(db, user.id, PAST).version
    db.write(lambda s: check_in(s, row_id, 1, 3))
    db.write(lambda s: check_in(s, row_id, 2, 4))
    db.write(lambda s: check_in(s, row_id, 1, 5))
    with db.reading() as session:
        assert goal_statuses(session, [row_id]) == {
            row_id: {"goal-1": 5, "goal-2": 4}
        }
    assert row(db, user.id, PAST).version == version + 3


def test_checkin_streak_counts_days_in_a_row_ending_with_the_day(db, world):
    user = person(world)
    days = [PAST + timedelta(days=n) for n in (0, 2, 3, 4)]
    for day in days:
        row_id = db.write(lambda s, day=day: row_for(s, user.id, day).id)
        db.write(lambda s, row_id=row_id: check_in(s, row_id, 1, 3))
    db.write(lambda s: row_for(s, user.id, PAST + timedelta(days=5)))
    with db.reading() as session:
        found = checkin_days(session, user.id, PAST + timedelta(days=3))
    assert found == set(days[:3])
    assert checkin_streak(found, PAST + timedelta(days=3)) == 2
    assert checkin_streak(set(days), PAST + timedelta(days=4)) == 3
    assert checkin_streak(set(days), PAST + timedelta(days=5)) == 0
    assert checkin_streak(set(days), PAST) == 1


def test_lock_users_is_harmless_on_any_database(db, world):
    user = person(world)
    db.write(lambda s: lock_users(s, [user.id, user.id]))
    db.write(lambda s: lock_users(s, []))
