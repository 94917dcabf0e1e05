"""Action reports: the 202 answer, checks, and what workers make of them."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import redis.exceptions

from tests.api.conftest import assert_error, days_ago, today_of

STATES = ["completed", "snoozed", "dismissed", "uncompleted"]
COUNTED = ["completed", "snoozed", "dismissed"]


def _complete(kind: str, target: int) -> str:
    return f"/api/users/{kind}s/{target}/complete/"


def _target(world, user, kind: str) -> int:
    if kind == "action":
        return user.select_action(world.action())
    return user.custom_action()


def _noon_days_ago(n: int) -> datetime:
    """Noon UTC `n` days ago: never near midnight in UTC."""
    moment = datetime.now(UTC) - timedelta(days=n)
    return moment.replace(hour=12, minute=0, second=0, microsecond=0)


def _row_of(user, day) -> dict:
    results = user.get("/api/users/progress/").json["results"]
    found = [row for row in results if row["date"] == day.isoformat()]
    assert len(found) == 1, results
    return found[0]


# The 202 answer.


@pytest.mark.parametrize("kind", ["action", "customaction"])
def test_report_is_202_with_id_state_and_local_date(world, alice, kind):
    target = _target(world, alice, kind)
    before = today_of(alice).isoformat()
    response = alice.post(_complete(kind, target), json={"state": "snoozed"})
    after = today_of(alice).isoformat()
    assert response.status_code == 202
    assert set(response.json) == {kind, "state", "date"}
    assert response.json[kind] == target
    assert response.json["state"] == "snoozed"
    assert response.json["date"] in {before, after}
    assert world.backlog() == 1


@pytest.mark.parametrize("kind", ["action", "customaction"])
def test_report_without_a_body_is_completed_now(world, alice, kind):
    target = _target(world, alice, kind)
    response = alice.post(_complete(kind, target))
    assert response.status_code == 202
    assert response.json["state"] == "completed"


def test_report_with_an_empty_object_is_completed(world, alice):
    target = _target(world, alice, "action")
    response = alice.post(_complete("action", target), json={})
    assert response.json["state"] == "completed"


@pytest.mark.parametrize("state", STATES)
def test_every_state_is_accepted(world, alice, state):
    target = _target(world, alice, "action")
    response = alice.post(_complete("action", target), json={"state": state})
    assert response.status_code == 202
    assert response.json["state"] == state


@pytest.mark.parametrize(
    "state", ["COMPLETED", "done", "", 1, True, ["completed"]]
)
def test_unknown_state_is_a_400(world, alice, state):
    target = _target(world, alice, "customaction")
    response = alice.post(
        _complete("customaction", target), json={"state": state}
    )
    assert_error(response, 400, "state")
    assert world.backlog() == 0


def test_null_state_means_the_default_completed(world, alice):
    target = _target(world, alice, "action")
    response = alice.post(_complete("action", target), json={"state": None})
    assert response.status_code == 202
    assert response.json["state"] == "completed"


def test_unknown_report_fields_are_ignored(world, alice):
    target = _target(world, alice, "action")
    response = alice.post(
        _complete("action", target),
        json={"state": "dismissed", "mood": "great", "client": {"v": 9}},
    )
    assert response.status_code == 202
    assert response.json == {
        "action": target,
        "state": "dismissed",
        "date": response.json["date"],
    }


@pytest.mark.parametrize("length", ["", "15 minutes", "x" * 64])
def test_snooze_length_of_at_most_64_characters_is_accepted(
    world, alice, length
):
    target = _target(world, alice, "action")
    response = alice.post(
        _complete("action", target),
        json={"state": "snoozed", "length": length},
    )
    assert response.status_code == 202
    assert world.drain().applied == 1


@pytest.mark.parametrize("length", ["x" * 65, 15, ["1h"], {"m": 5}, True])
def test_bad_snooze_length_is_a_400(world, alice, length):
    target = _target(world, alice, "action")
    response = alice.post(
        _complete("action", target),
        json={"state": "snoozed", "length": length},
    )
    assert_error(response, 400, "length")


@pytest.mark.parametrize("kind", ["action", "customaction"])
def test_report_on_an_unknown_target_is_a_404(world, alice, kind):
    _target(world, alice, kind)
    assert_error(alice.post(_complete(kind, 9999)), 404)
    assert world.backlog() == 0


def test_report_on_an_unselected_action_is_a_404(world, alice):
    target = _target(world, alice, "action")
    alice.request("DELETE", f"/api/users/actions/{target}/")
    assert_error(alice.post(_complete("action", target)), 404)


def test_action_id_is_not_a_user_action_id(world, alice):
    world.action("Unrelated")
    action = world.action()
    user_action = alice.select_action(action)
    assert user_action != action
    assert_error(alice.post(_complete("action", action)), 404)


# occurred_at.


@pytest.mark.parametrize(
    ("zone", "shift"), [("Pacific/Kiritimati", 1), ("Pacific/Pago_Pago", 0)]
)
def test_report_is_dated_on_the_callers_local_day(world, zone, shift):
    user = world.user(timezone=zone)
    target = _target(world, user, "action")
    moment = _noon_days_ago(2)
    response = user.post(
        _complete("action", target),
        json={"occurred_at": moment.isoformat()},
    )
    local = moment.date() + timedelta(days=shift)
    assert response.json["date"] == local.isoformat()
    assert local == moment.astimezone(ZoneInfo(zone)).date()

    world.drain()
    assert _row_of(user, local)["actions_completed"] == 1


def test_report_without_occurred_at_is_on_todays_local_row(world):
    user = world.user(timezone="Asia/Kolkata")
    target = _target(world, user, "customaction")
    date = user.post(_complete("customaction", target)).json["date"]
    world.drain()
    latest = user.get("/api/users/progress/latest/").json
    assert latest["date"] == date
    assert latest["customactions_completed"] == 1


@pytest.mark.parametrize(
    "moment",
    [
        "2024-05-01T10:00:00",
        "yesterday",
        "2024-13-40T10:00:00Z",
        "",
        1714557600,
        ["2024-05-01T10:00:00Z"],
    ],
)
def test_occurred_at_must_be_iso_8601_with_an_offset(world, alice, moment):
    target = _target(world, alice, "action")
    response = alice.post(
        _complete("action", target), json={"occurred_at": moment}
    )
    assert_error(response, 400, "occurred_at")


@pytest.mark.parametrize("offset", ["+00:00", "Z", "+05:30", "-08:00"])
def test_occurred_at_with_any_offset_is_accepted(world, alice, offset):
    target = _target(world, alice, "action")
    moment = datetime.now(UTC) - timedelta(hours=30)
    text = moment.replace(tzinfo=None).isoformat()
    if offset != "Z":
        zone = datetime.strptime(offset, "%z").tzinfo
        text = moment.astimezone(zone).isoformat()
    else:
        text += "Z"
    response = alice.post(
        _complete("action", target), json={"occurred_at": text}
    )
    assert response.status_code == 202, response.text
    assert response.json["date"] == moment.date().isoformat()


def test_occurred_at_more_than_7_days_ago_is_a_400(world, alice):
    target = _target(world, alice, "action")
    moment = datetime.now(UTC) - timedelta(days=7, minutes=5)
    response = alice.post(
        _complete("action", target), json={"occurred_at": moment.isoformat()}
    )
    assert_error(response, 400, "occurred_at")


def test_occurred_at_more_than_5_minutes_ahead_is_a_400(world, alice):
    target = _target(world, alice, "action")
    moment = datetime.now(UTC) + timedelta(minutes=10)
    response = alice.post(
        _complete("action", target), json={"occurred_at": moment.isoformat()}
    )
    assert_error(response, 400, "occurred_at")


def test_occurred_at_a_little_ahead_counts_as_now(world):
    user = world.user(timezone="Pacific/Kiritimati")
    target = _target(world, user, "action")
    moment = datetime.now(UTC) + timedelta(minutes=3)
    before = today_of(user).isoformat()
    response = user.post(
        _complete("action", target), json={"occurred_at": moment.isoformat()}
    )
    after = today_of(user).isoformat()
    assert response.status_code == 202
    assert response.json["date"] in {before, after}


def test_late_report_counts_on_its_own_day(world, alice):
    target = _target(world, alice, "action")
    moment = _noon_days_ago(6)
    response = alice.post(
        _complete("action", target), json={"occurred_at": moment.isoformat()}
    )
    assert response.json["date"] == moment.date().isoformat()
    world.drain()
    assert _row_of(alice, moment.date())["actions_completed"] == 1
    assert _row_of(alice, today_of(alice))["actions_completed"] == 0


# What the workers make of reports.


@pytest.mark.parametrize("kind", ["action", "customaction"])
@pytest.mark.parametrize("state", STATES)
def test_applied_report_moves_its_states_counter(world, alice, kind, state):
    target = _target(world, alice, kind)
    alice.post(_complete(kind, target), json={"state": state})
    assert world.drain().applied == 1
    row = alice.get("/api/users/progress/latest/").json
    for other in ("action", "customaction"):
        for counted in COUNTED:
            expected = int(other == kind and counted == state)
            assert row[f"{other}s_{counted}"] == expected


def test_later_report_replaces_the_recorded_state(world, alice):
    target = _target(world, alice, "action")
    moment = _noon_days_ago(1)
    for minutes, state in ((0, "completed"), (1, "dismissed")):
        at = moment + timedelta(minutes=minutes)
        alice.post(
            _complete("action", target),
            json={"state": state, "occurred_at": at.isoformat()},
        )
    world.drain()
    row = _row_of(alice, moment.date())
    assert (row["actions_completed"], row["actions_dismissed"]) == (0, 1)


def test_older_report_changes_nothing(world, alice):
    target = _target(world, alice, "action")
    moment = _noon_days_ago(1)
    for minutes, state in ((5, "completed"), (0, "snoozed")):
        at = moment + timedelta(minutes=minutes)
        alice.post(
            _complete("action", target),
            json={"state": state, "occurred_at": at.isoformat()},
        )
        world.drain()
    row = _row_of(alice, moment.date())
    assert (row["actions_completed"], row["actions_snoozed"]) == (1, 0)


def test_repeated_report_changes_nothing(world, alice):
    target = _target(world, alice, "customaction")
    body = {"occurred_at": _noon_days_ago(1).isoformat()}
    for _ in range(3):
        alice.post(_complete("customaction", target), json=body)
        world.drain()
    row = _row_of(alice, _noon_days_ago(1).date())
    assert row["customactions_completed"] == 1


def test_report_accepted_before_unselecting_is_still_applied(world, alice):
    action = _target(world, alice, "action")
    custom = _target(world, alice, "customaction")
    alice.post(_complete("action", action))
    alice.post(_complete("customaction", custom))
    alice.request("DELETE", f"/api/users/actions/{action}/")
    alice.request("DELETE", f"/api/users/customactions/{custom}/")
    assert world.drain().applied == 2
    row = alice.get("/api/users/progress/latest/").json
    assert (row["actions_completed"], row["customactions_completed"]) == (1, 1)
    assert (row["actions_total"], row["customactions_total"]) == (0, 0)


def test_engagement_is_the_share_of_completed_states(world, alice):
    states = ["completed", "completed", "dismissed"]
    for state in states:
        target = _target(world, alice, "action")
        alice.post(_complete("action", target), json={"state": state})
    world.drain()
    row = alice.get("/api/users/progress/latest/").json
    assert row["engagement_15_days"] == 66.67
    assert row["engagement_30_days"] == 66.67
    assert row["engagement_60_days"] == 66.67

    custom = _target(world, alice, "customaction")
    alice.post(
        _complete("customaction", custom), json={"state": "uncompleted"}
    )
    world.drain()
    row = alice.get("/api/users/progress/latest/").json
    assert row["engagement_15_days"] == 50.0


# engagement_rank.


def _rank(user) -> float:
    return user.get("/api/users/progress/latest/").json["engagement_rank"]


def _report_and_drain(world, user, state: str) -> None:
    target = _target(world, user, "action")
    user.post(_complete("action", target), json={"state": state})
    world.drain()


def test_rank_of_a_user_alone_is_reported_as_the_floor(world, alice):
    _report_and_drain(world, alice, "completed")
    assert _rank(alice) == 15.0


def test_rank_of_todays_row_is_read_live(world, alice, bob):
    _report_and_drain(world, alice, "completed")
    assert _rank(alice) == 15.0

    _report_and_drain(world, bob, "dismissed")
    assert _rank(alice) == 50.0
    assert _rank(bob) == 15.0

    carol = world.user(email="carol@example.org")
    _report_and_drain(world, carol, "completed")
    assert _rank(alice) == 33.33
    assert _rank(carol) == 33.33
    assert _rank(bob) == 15.0


def test_user_without_reports_is_ranked_at_the_floor(world, alice, bob):
    _report_and_drain(world, alice, "completed")
    _report_and_drain(world, bob, "dismissed")
    carol = world.user(email="carol@example.org")
    carol.post("/api/users/progress/")
    assert _rank(carol) == 15.0


def test_past_rows_show_their_stored_rank_at_least_the_floor(
    world, alice, bob, rows
):
    high = rows.add(alice, days_ago(alice, 1), engagement_rank=42.5)
    low = rows.add(alice, days_ago(alice, 2), engagement_rank=3.0)
    _report_and_drain(world, alice, "completed")
    _report_and_drain(world, bob, "dismissed")
    assert alice.get(f"/api/users/progress/{high}/").json[
        "engagement_rank"
    ] == (42.5)
    assert alice.get(f"/api/users/progress/{low}/").json[
        "engagement_rank"
    ] == (15.0)
    assert _rank(alice) == 50.0


def test_rank_falls_back_to_the_stored_value_when_redis_is_down(
    monkeypatch, world, alice, bob, rows
):
    _report_and_drain(world, alice, "completed")
    _report_and_drain(world, bob, "dismissed")
    rows.add(alice, today_of(alice), engagement_rank=77.0)
    assert _rank(alice) == 50.0

    def refuse(*args, **kwargs):
        raise redis.exceptions.ConnectionError("Connection refused")

    monkeypatch.setattr(world.services.redis, "evalsha", refuse)
    assert _rank(alice) == 77.0
    listed = alice.get("/api/users/progress/").json["results"][0]
    assert listed["engagement_rank"] == 77.0
