from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from core import accounts
from core.models import ActionReport, ActionState
from core.progress import write_fields
from core.reports import (
    STATES,
    Report,
    ReportError,
    build_report,
    counter,
    transitions,
)
from tests.core import support
from tests.core.support import apply, at, report, row

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
DAY = date(2025, 6, 1)


def build(body, zone="UTC", now=NOW, **kwargs):
    return build_report(
        body,
        user_id=1,
        kind="action",
        target_id=7,
        zone=zone,
        now=now,
        **kwargs,
    )


# Checking a report.


def test_report_without_a_body_is_completed_now_on_the_users_day():
    found = build({}, zone="Pacific/Kiritimati")
    assert found.state == "completed"
    assert found.occurred_at == datetime(2025, 6, 1, 12, 0)
    assert found.day == date(2025, 6, 2)
    assert found.length is None


@pytest.mark.parametrize("state", STATES)
def test_report_accepts_each_state(state):
    assert build({"state": state}).state == state


@pytest.mark.parametrize("state", ["done", "", "COMPLETED", 1, ["x"]])
def test_report_refuses_an_unknown_state(state):
    with pytest.raises(ReportError, match="^state: "):
        build({"state": state})


def test_report_time_with_z_is_accepted_and_stored_as_naive_utc():
    found = build({"occurred_at": "2025-06-01T10:00:00Z"})
    assert found.occurred_at == datetime(2025, 6, 1, 10, 0)
    assert found.occurred_at.tzinfo is None


def test_report_time_with_an_offset_is_dated_in_the_users_zone():
    body = {"occurred_at": "2025-06-01T00:10:00+05:30"}
    assert build(body).occurred_at == datetime(2025, 5, 31, 18, 40)
    assert build(body, zone="UTC").day == date(2025, 5, 31)
    assert build(body, zone="Asia/Kolkata").day == date(2025, 6, 1)
    assert build(body, zone="Asia/Kathmandu").day == date(2025, 6, 1)


@pytest.mark.parametrize(
    "value, message",
    [
        ("2025-06-01T10:00:00", "needs a UTC offset"),
        ("2025-06-01", "needs a UTC offset"),
        ("yesterday", "not an ISO 8601 time"),
        ("2025-13-01T10:00:00Z", "not an ISO 8601 time"),
        (1717236000, "expected an ISO 8601 string"),
        (["2025-06-01T10:00:00Z"], "expected an ISO 8601 string"),
    ],
)
def test_report_time_must_be_iso_8601_with_an_offset(value, message):
    with pytest.raises(ReportError, match=f"^occurred_at: .*{message}"):
        build({"occurred_at": value})


def test_report_time_of_null_means_now():
    assert build({"occurred_at": None}).occurred_at == datetime(2025, 6, 1, 12)


def test_report_exactly_7_days_late_is_accepted():
    found = build({"occurred_at": "2025-05-25T12:00:00Z"})
    assert found.day == date(2025, 5, 25)


def test_report_more_than_7_days_late_is_refused():
    with pytest.raises(ReportError, match="^occurred_at: more than 7 days"):
        build({"occurred_at": "2025-05-25T11:59:59Z"})


def test_report_of_any_past_time_is_accepted_for_imports():
    found = build({"occurred_at": "2024-02-29T23:30:00-05:00"}, any_past=True)
    assert found.occurred_at == datetime(2024, 3, 1, 4, 30)
    assert found.day == date(2024, 3, 1)


def test_report_of_a_far_past_time_is_refused_not_crashing():
    # Year 1 at +01:00 is before the first instant a datetime can hold.
    with pytest.raises(ReportError, match="^occurred_at: "):
        build({"occurred_at": "0001-01-01T00:00:00+01:00"}, any_past=True)
    with pytest.raises(ReportError, match="^occurred_at: "):
        build(
            {"occurred_at": "0001-01-01T02:00:00+00:00"},
            zone="America/New_York",
            any_past=True,
        )


def test_report_up_to_5_minutes_ahead_counts_as_now():
    found = build({"occurred_at": "2025-06-01T12:05:00Z"})
    assert found.occurred_at == datetime(2025, 6, 1, 12, 0)


def test_report_ahead_across_midnight_counts_on_todays_date():
    now = datetime(2025, 6, 1, 18, 27, tzinfo=UTC)  # 23:57 in Kolkata
    found = build(
        {"occurred_at": "2025-06-02T00:01:00+05:30"},
        zone="Asia/Kolkata",
        now=now,
    )
    assert found.occurred_at == datetime(2025, 6, 1, 18, 27)
    assert found.day == date(2025, 6, 1)


@pytest.mark.parametrize("any_past", [False, True])
def test_report_more_than_5_minutes_ahead_is_refused(any_past):
    with pytest.raises(ReportError, match="^occurred_at: more than 5 min"):
        build({"occurred_at": "2025-06-01T12:05:01Z"}, any_past=any_past)


def test_report_length_of_64_characters_is_kept():
    assert build({"length": "x" * 64}).length == "x" * 64


@pytest.mark.parametrize("length", ["x" * 65, 30, ["1h"], {"h": 1}])
def test_report_length_must_be_a_string_of_at_most_64(length):
    with pytest.raises(ReportError, match="^length: "):
        build({"length": length})


def test_report_ignores_unknown_fields():
    found = build({"state": "snoozed", "mood": "great", "extra": [1]})
    assert found.state == "snoozed"


def test_report_survives_the_trip_through_the_queue_fields():
    original = build({"state": "snoozed", "length": "1h"}, zone="Asia/Tokyo")
    fields = {k.encode(): v.encode() for k, v in original.to_fields().items()}
    assert Report.from_fields(fields) == original
    without = build({})
    assert Report.from_fields(without.to_fields()) == without


# Counter moves, without a database.


def test_counter_names_the_column_of_a_state():
    assert counter("action", "completed") == "actions_completed"
    assert counter("customaction", "snoozed") == "customactions_snoozed"
    assert counter("action", "dismissed") == "actions_dismissed"
    assert counter("action", "uncompleted") is None


KEY = (1, "action", 7, DAY)


def test_transition_of_a_first_report_counts_it():
    winners, deltas = transitions({}, [(5, report(1, 7, day=DAY))])
    assert winners == {KEY: (at(DAY), 5, "completed")}
    assert deltas == {(1, DAY, "actions_completed"): (1, 0)}


def test_transition_of_an_older_report_changes_nothing():
    recorded = {KEY: (at(DAY, 12), 5, "completed")}
    older = report(1, 7, "snoozed", day=DAY, occurred_at=at(DAY, 11))
    assert transitions(recorded, [(9, older)]) == ({}, {})


def test_transition_between_equal_times_keeps_the_later_received():
    recorded = {KEY: (at(DAY), 5, "completed")}
    same_time = report(1, 7, "snoozed", day=DAY)
    winners, deltas = transitions(recorded, [(6, same_time)])
    assert winners == {KEY: (at(DAY), 6, "snoozed")}
    assert transitions(recorded, [(4, same_time)]) == ({}, {})


def test_transition_of_a_repeated_report_changes_nothing():
    recorded = {KEY: (at(DAY), 5, "completed")}
    again = report(1, 7, day=DAY)
    assert transitions(recorded, [(5, again)]) == ({}, {})


def test_transition_to_another_state_moves_one_down_and_one_up():
    recorded = {KEY: (at(DAY, 9), 5, "completed")}
    newer = report(1, 7, "dismissed", day=DAY, occurred_at=at(DAY, 10))
    _, deltas = transitions(recorded, [(6, newer)])
    assert deltas == {
        (1, DAY, "actions_completed"): (-1, 0),
        (1, DAY, "actions_dismissed"): (1, 0),
    }


def test_transition_to_uncompleted_only_moves_the_old_counter_down():
    recorded = {KEY: (at(DAY, 9), 5, "snoozed")}
    newer = report(1, 7, "uncompleted", day=DAY, occurred_at=at(DAY, 10))
    winners, deltas = transitions(recorded, [(6, newer)])
    assert winners[KEY][2] == "uncompleted"
    assert deltas == {(1, DAY, "actions_snoozed"): (-1, 0)}
    fresh = report(1, 8, "uncompleted", day=DAY)
    winners, deltas = transitions({}, [(7, fresh)])
    assert winners and deltas == {}


def test_transition_to_the_same_state_later_moves_no_counter():
    recorded = {KEY: (at(DAY, 9), 5, "completed")}
    newer = report(1, 7, day=DAY, occurred_at=at(DAY, 10))
    winners, deltas = transitions(recorded, [(6, newer)])
    assert winners == {KEY: (at(DAY, 10), 6, "completed")}
    assert deltas == {}


def test_transition_keeps_the_newest_report_of_a_batch_whatever_its_order():
    newest = report(1, 7, "dismissed", day=DAY, occurred_at=at(DAY, 15))
    batch = [
        (1, report(1, 7, "snoozed", day=DAY, occurred_at=at(DAY, 10))),
        (2, newest),
        (3, report(1, 7, "completed", day=DAY, occurred_at=at(DAY, 11))),
    ]
    winners, deltas = transitions({}, batch)
    assert winners == {KEY: (at(DAY, 15), 2, "dismissed")}
    assert deltas == {(1, DAY, "actions_dismissed"): (1, 0)}


def test_transition_floor_keeps_what_came_after_a_step_down():
    # A leaves `completed`, then B enters it: from a counter corrected to
    # 0, one by one gives 0 -> 0 -> 1, so the floor is 1.
    recorded = {KEY: (at(DAY, 9), 1, "completed")}
    a_leaves = report(1, 7, "snoozed", day=DAY, occurred_at=at(DAY, 10))
    b_enters = report(1, 8, day=DAY, occurred_at=at(DAY, 10))
    _, deltas = transitions(recorded, [(3, b_enters), (2, a_leaves)])
    assert deltas[(1, DAY, "actions_completed")] == (0, 1)
    assert deltas[(1, DAY, "actions_snoozed")] == (1, 0)


def test_transition_floor_is_zero_when_the_step_down_comes_last():
    recorded = {KEY: (at(DAY, 9), 1, "completed")}
    b_enters = report(1, 8, day=DAY, occurred_at=at(DAY, 10))
    a_leaves = report(1, 7, "snoozed", day=DAY, occurred_at=at(DAY, 10))
    _, deltas = transitions(recorded, [(2, b_enters), (3, a_leaves)])
    assert (1, DAY, "actions_completed") not in deltas
    assert deltas == {(1, DAY, "actions_snoozed"): (1, 0)}


def test_transition_counts_custom_actions_in_their_own_columns():
    custom = report(1, 7, "snoozed", day=DAY, kind="customaction")
    _, deltas = transitions({}, [(1, custom)])
    assert deltas == {(1, DAY, "customactions_snoozed"): (1, 0)}


# Applying reports to the database.


@pytest.fixture
def user(world):
    person = support.person(world, "Asia/Kathmandu")
    person.ua = person.select_action(world.action())
    person.ua2 = person.select_action(world.action("Read"))
    person.ca = person.custom_action()
    return person


def counts(db, user_id, day=DAY, kind="actions"):
    found = row(db, user_id, day)
    return tuple(
        getattr(found, f"{kind}_{state}")
        for state in ("completed", "snoozed", "dismissed")
    )


def states(db, user_id):
    with db.reading() as session:
        return {
            (kind, target, day): state
            for kind, target, day, state in session.execute(
                select(
                    ActionState.kind,
                    ActionState.target_id,
                    ActionState.day,
                    ActionState.state,
                ).where(ActionState.user_id == user_id)
            )
        }


def test_apply_counts_a_report_on_its_day_and_creates_the_row(db, user):
    touched = apply(db, [(1, report(user.id, user.ua, day=DAY))])
    assert touched == {(user.id, DAY)}
    assert counts(db, user.id) == (1, 0, 0)
    assert row(db, user.id, DAY).actions_total == 2
    assert row(db, user.id, DAY).customactions_total == 1
    assert states(db, user.id) == {("action", user.ua, DAY): "completed"}


def test_apply_of_an_older_report_in_a_later_batch_changes_nothing(db, user):
    apply(db, [(1, report(user.id, user.ua, day=DAY, occurred_at=at(DAY, 9)))])
    late = report(user.id, user.ua, "snoozed", day=DAY, occurred_at=at(DAY, 8))
    apply(db, [(2, late)])
    assert counts(db, user.id) == (1, 0, 0)
    assert states(db, user.id)[("action", user.ua, DAY)] == "completed"


def test_apply_between_equal_times_keeps_the_later_received(db, user):
    apply(db, [(1, report(user.id, user.ua, day=DAY))])
    apply(db, [(2, report(user.id, user.ua, "dismissed", day=DAY))])
    assert counts(db, user.id) == (0, 0, 1)


def test_apply_of_a_repeated_report_changes_nothing(db, user):
    apply(db, [(1, report(user.id, user.ua, day=DAY))])
    version = row(db, user.id, DAY).version
    apply(db, [(2, report(user.id, user.ua, day=DAY))])
    assert counts(db, user.id) == (1, 0, 0)
    assert row(db, user.id, DAY).version == version


def test_apply_of_a_replacing_report_moves_one_down_one_up(db, user):
    apply(db, [(1, report(user.id, user.ua, day=DAY, occurred_at=at(DAY, 9)))])
    apply(db, [(2, report(user.id, user.ua2, day=DAY))])
    newer = report(
        user.id, user.ua, "snoozed", day=DAY, occurred_at=at(DAY, 10)
    )
    apply(db, [(3, newer)])
    assert counts(db, user.id) == (1, 1, 0)


def test_apply_of_uncompleted_has_no_counter(db, user):
    apply(db, [(1, report(user.id, user.ua, "uncompleted", day=DAY))])
    assert counts(db, user.id) == (0, 0, 0)
    later = report(user.id, user.ua, day=DAY, occurred_at=at(DAY, 13))
    apply(db, [(2, later)])
    undone = report(
        user.id, user.ua, "uncompleted", day=DAY, occurred_at=at(DAY, 14)
    )
    apply(db, [(3, undone)])
    assert counts(db, user.id) == (0, 0, 0)
    assert states(db, user.id)[("action", user.ua, DAY)] == "uncompleted"


def test_apply_never_moves_a_counter_below_zero_after_a_correction(db, user):
    apply(db, [(1, report(user.id, user.ua, day=DAY, occurred_at=at(DAY, 9)))])
    row_id = row(db, user.id, DAY).id
    db.write(lambda s: write_fields(s, row_id, {"actions_completed": 0}, None))
    newer = report(
        user.id, user.ua, "snoozed", day=DAY, occurred_at=at(DAY, 10)
    )
    apply(db, [(2, newer)])
    assert counts(db, user.id) == (0, 1, 0)


def test_apply_moves_on_from_a_corrected_counter(db, user):
    apply(db, [(1, report(user.id, user.ua, day=DAY))])
    row_id = row(db, user.id, DAY).id
    db.write(lambda s: write_fields(s, row_id, {"actions_completed": 5}, None))
    apply(db, [(2, report(user.id, user.ua2, day=DAY))])
    assert counts(db, user.id) == (6, 0, 0)


def test_apply_gives_the_same_counters_in_one_batch_or_one_by_one(db, world):
    # After a correction to 0, one action leaves `completed` and another
    # enters it: the result must not depend on how reports were batched.
    def run(batched: bool):
        person = support.person(world)
        a = person.select_action(world.action())
        b = person.select_action(world.action())
        apply(db, [(1, report(person.id, a, day=DAY, occurred_at=at(DAY, 9)))])
        row_id = row(db, person.id, DAY).id
        db.write(
            lambda s: write_fields(s, row_id, {"actions_completed": 0}, None)
        )
        moves = [
            (
                2,
                report(
                    person.id, a, "snoozed", day=DAY, occurred_at=at(DAY, 10)
                ),
            ),
            (3, report(person.id, b, day=DAY, occurred_at=at(DAY, 10))),
        ]
        if batched:
            apply(db, moves)
        else:
            for move in moves:
                apply(db, [move])
        return counts(db, person.id)

    assert run(batched=True) == run(batched=False) == (1, 1, 0)


def test_apply_keeps_reports_for_different_days_apart(db, user):
    before = DAY - timedelta(days=1)
    apply(
        db,
        [
            (1, report(user.id, user.ua, day=before)),
            (2, report(user.id, user.ua, "snoozed", day=DAY)),
        ],
    )
    assert counts(db, user.id, before) == (1, 0, 0)
    assert counts(db, user.id, DAY) == (0, 1, 0)


def test_apply_keeps_actions_and_custom_actions_apart(db, user):
    # A custom action may share its id with a user action.
    apply(
        db,
        [
            (1, report(user.id, 1, day=DAY)),
            (2, report(user.id, 1, "dismissed", day=DAY, kind="customaction")),
        ],
    )
    assert counts(db, user.id) == (1, 0, 0)
    assert counts(db, user.id, kind="customactions") == (0, 0, 1)


def test_apply_of_the_same_entries_twice_changes_nothing(db, user):
    batch = [
        (1, report(user.id, user.ua, day=DAY, occurred_at=at(DAY, 9))),
        (2, report(user.id, user.ca, "snoozed", day=DAY, kind="customaction")),
        (
            3,
            report(
                user.id, user.ua, "dismissed", day=DAY, occurred_at=at(DAY, 10)
            ),
        ),
    ]
    apply(db, batch)
    first = (counts(db, user.id), counts(db, user.id, kind="customactions"))
    apply(db, batch)
    apply(db, batch[:1])
    assert first == ((0, 0, 1), (0, 1, 0))
    assert (
        counts(db, user.id),
        counts(db, user.id, kind="customactions"),
    ) == first
    with db.reading() as session:
        kept = session.scalar(select(func.count()).select_from(ActionReport))
    assert kept == 3


def test_apply_of_a_report_for_a_deleted_action_still_counts(db, user):
    db.write(lambda s: accounts.delete_custom_action(s, user.caller, user.ca))
    apply(db, [(1, report(user.id, user.ca, day=DAY, kind="customaction"))])
    assert counts(db, user.id, kind="customactions") == (1, 0, 0)


def test_apply_of_an_empty_batch_touches_nothing(db):
    assert apply(db, []) == set()
