"""The catalogue, the caller's account, and the health checks."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import redis.exceptions

from tests.api.conftest import assert_error, days_ago, today_of

ME = "/api/users/me/"


# The catalogue.


def test_goals_catalogue_lists_every_goal_in_id_order(world, alice):
    made = [world.goal(title) for title in ("Sleep", "Move", "Eat")]
    page = alice.get("/api/goals/").json
    assert page["count"] == 3
    assert page["results"] == [
        {"id": made[0], "title": "Sleep"},
        {"id": made[1], "title": "Move"},
        {"id": made[2], "title": "Eat"},
    ]


def test_actions_catalogue_shows_each_actions_goal(world, alice):
    goal = world.goal()
    walk = world.action("Walk", goal=goal)
    read = world.action("Read")
    assert alice.get("/api/actions/").json["results"] == [
        {"id": walk, "title": "Walk", "goal": goal},
        {"id": read, "title": "Read", "goal": None},
    ]


def test_catalogue_is_the_same_for_every_user(world, alice, bob):
    world.goal()
    alice.select_goal(world.goal("Mine"))
    assert alice.get("/api/goals/").json == bob.get("/api/goals/").json


# The user.


def test_me_shows_id_email_and_time_zone(world):
    user = world.user(email="me@example.org", timezone="Europe/Berlin")
    response = user.get(ME)
    assert response.status_code == 200
    assert response.json == {
        "id": user.id,
        "email": "me@example.org",
        "timezone": "Europe/Berlin",
    }


def test_patch_me_changes_the_time_zone(alice):
    response = alice.request("PATCH", ME, json={"timezone": "Asia/Tokyo"})
    assert response.status_code == 200
    assert response.json["timezone"] == "Asia/Tokyo"
    assert alice.get(ME).json["timezone"] == "Asia/Tokyo"


@pytest.mark.parametrize(
    "zone", ["Mars/Olympus_Mons", "utc ", "", "Europe", None, 3, ["UTC"]]
)
def test_patch_me_with_an_unknown_zone_is_a_400(alice, zone):
    response = alice.request("PATCH", ME, json={"timezone": zone})
    assert_error(response, 400, "timezone")
    assert alice.get(ME).json["timezone"] == "UTC"


def test_patch_me_with_an_unknown_field_is_a_400(alice):
    response = alice.request(
        "PATCH", ME, json={"timezone": "Asia/Tokyo", "name": "Alice"}
    )
    assert_error(response, 400, "name")
    assert alice.get(ME).json["timezone"] == "UTC"


def test_patch_me_with_the_whole_object_sent_back_is_accepted(alice):
    me = alice.get(ME).json
    me["timezone"] = "America/Lima"
    response = alice.request("PATCH", ME, json=me)
    assert response.status_code == 200
    assert response.json == me


def test_patch_me_without_a_time_zone_changes_nothing(alice):
    response = alice.request("PATCH", ME, json={})
    assert response.status_code == 200
    assert response.json == alice.get(ME).json


def test_reports_follow_the_new_time_zone(world, alice):
    target = alice.select_action(world.action())
    moment = datetime.now(UTC) - timedelta(days=2)
    moment = moment.replace(hour=12, minute=0, second=0, microsecond=0)
    body = {"occurred_at": moment.isoformat()}
    path = f"/api/users/actions/{target}/complete/"
    assert alice.post(path, json=body).json["date"] == str(moment.date())

    alice.request("PATCH", ME, json={"timezone": "Pacific/Kiritimati"})
    later = alice.post(path, json=body).json["date"]
    assert later == str(moment.date() + timedelta(days=1))


def test_today_follows_the_new_time_zone(alice):
    alice.request("PATCH", ME, json={"timezone": "Pacific/Kiritimati"})
    zone = ZoneInfo("Pacific/Kiritimati")
    before = datetime.now(zone).date().isoformat()
    row = alice.post("/api/users/progress/").json
    after = datetime.now(zone).date().isoformat()
    assert row["date"] in {before, after}


def test_days_already_recorded_keep_their_dates(alice, rows):
    dates = [days_ago(alice, n).isoformat() for n in (0, 1)]
    for n in (0, 1):
        rows.add(alice, days_ago(alice, n), actions_completed=n + 1)
    alice.request("PATCH", ME, json={"timezone": "Pacific/Pago_Pago"})
    results = alice.get("/api/users/progress/").json["results"]
    assert [(r["date"], r["actions_completed"]) for r in results] == [
        (dates[0], 1),
        (dates[1], 2),
    ]


def test_changing_ones_zone_leaves_other_users_alone(world, alice, bob):
    alice.request("PATCH", ME, json={"timezone": "Asia/Tokyo"})
    assert bob.get(ME).json["timezone"] == "UTC"
    before = today_of(bob).isoformat()
    row = bob.post("/api/users/progress/").json
    assert row["date"] in {before, today_of(bob).isoformat()}


# Health checks.


def test_healthz_answers_without_a_token(client):
    response = client.simulate_get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok"}


def test_readyz_names_each_backing_service(client):
    response = client.simulate_get("/readyz")
    assert response.status_code == 200
    assert response.json == {
        "ready": True,
        "database": "ok",
        "redis": "ok",
        "broker": "ok",
    }


def test_readyz_is_a_503_naming_redis_when_it_is_down(
    monkeypatch, client, world
):
    def refuse(*args, **kwargs):
        raise redis.exceptions.ConnectionError("Connection refused")

    monkeypatch.setattr(world.services.redis, "ping", refuse)
    response = client.simulate_get("/readyz")
    assert response.status_code == 503
    assert response.json["ready"] is False
    assert response.json["database"] == "ok"
    assert response.json["redis"].startswith("unavailable")
    assert int(response.headers["retry-after"]) > 0


@pytest.mark.parametrize("zone", ["localtime", "Factory", "posixrules"])
def test_host_dependent_zone_names_are_refused(alice, zone):
    response = alice.request(
        "PATCH", "/api/users/me/", json={"timezone": zone}
    )
    assert response.status_code == 400


@pytest.mark.parametrize(
    ("zone", "shown"),
    [(None, "null"), ("Mars/Base", '"Mars/Base"'), (7, "7"), ([], "[]")],
)
def test_an_unknown_zone_is_named_as_it_was_sent(alice, zone, shown):
    response = alice.request("PATCH", ME, json={"timezone": zone})
    assert_error(response, 400)
    assert response.json["error"] == f"timezone: unknown time zone {shown}"
