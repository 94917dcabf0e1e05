"""Paginated lists: count, next/previous links, page sizes, past the end."""

from urllib.parse import parse_qs, urlsplit

import pytest

from core import progress
from tests.api.conftest import assert_error, days_ago

PROGRESS = "/api/users/progress/"


@pytest.fixture
def days(world, alice):
    """Makes `n` day rows for alice, today and the days before it."""

    def make(n: int) -> list[str]:
        dates = [days_ago(alice, k) for k in range(n)]
        world.db.write(
            lambda s: progress.ensure_rows(s, [(alice.id, d) for d in dates])
        )
        return [d.isoformat() for d in dates]

    return make


def _link(link: str) -> tuple[str, dict]:
    parts = urlsplit(link)
    assert not parts.scheme and not parts.netloc
    return parts.path, parse_qs(parts.query)


def test_first_page_has_20_rows_and_a_next_link(alice, days):
    days(25)
    page = alice.get(PROGRESS).json
    assert page["count"] == 25
    assert len(page["results"]) == 20
    assert page["previous"] is None
    assert _link(page["next"]) == (PROGRESS, {"page": ["2"]})


def test_last_page_has_the_rest_and_a_previous_link(alice, days):
    days(25)
    page = alice.get(PROGRESS, params={"page": 2}).json
    assert page["count"] == 25
    assert len(page["results"]) == 5
    assert page["next"] is None
    assert _link(page["previous"]) == (PROGRESS, {"page": ["1"]})


def test_links_can_be_followed_and_keep_newest_first(alice, days):
    dates = days(25)
    seen, link = [], f"{PROGRESS}?page_size=7"
    while link:
        page = alice.get(link).json
        seen += [row["date"] for row in page["results"]]
        link = page["next"]
    assert seen == dates


def test_links_keep_the_page_size(alice, days):
    days(25)
    page = alice.get(PROGRESS, params={"page": 2, "page_size": 10}).json
    assert len(page["results"]) == 10
    assert _link(page["next"]) == (
        PROGRESS,
        {"page": ["3"], "page_size": ["10"]},
    )
    assert _link(page["previous"]) == (
        PROGRESS,
        {"page": ["1"], "page_size": ["10"]},
    )


def test_page_size_is_capped_at_100(alice, days):
    days(105)
    page = alice.get(PROGRESS, params={"page_size": 1000}).json
    assert page["count"] == 105
    assert len(page["results"]) == 100
    rest = alice.get(page["next"]).json
    assert len(rest["results"]) == 5


def test_page_size_of_100_is_allowed(alice, days):
    days(100)
    page = alice.get(PROGRESS, params={"page_size": 100}).json
    assert len(page["results"]) == 100
    assert page["next"] is None


def test_page_past_the_end_is_a_404(alice, days):
    days(25)
    assert_error(alice.get(PROGRESS, params={"page": 3}), 404, "page")
    assert_error(alice.get(PROGRESS, params={"page": 2, "page_size": 25}), 404)


def test_empty_list_has_a_first_page_but_no_second(alice):
    assert alice.get(PROGRESS, params={"page": 1}).json["results"] == []
    assert_error(alice.get(PROGRESS, params={"page": 2}), 404)


NOT_POSITIVE = [
    "0",
    "-1",
    "abc",
    "1.5",
    "",
    "1e3",
    "+1",
    " 1",
    "0x10",
    "99999999999999999999",
]


@pytest.mark.parametrize("name", ["page", "page_size"])
@pytest.mark.parametrize(
    "path",
    [
        PROGRESS,
        "/api/goals/",
        "/api/actions/",
        "/api/users/goals/",
        "/api/users/actions/",
        "/api/users/customactions/",
    ],
)
def test_page_or_page_size_not_a_positive_integer_is_a_400(alice, path, name):
    for value in NOT_POSITIVE:
        response = alice.get(f"{path}?{name}={value}")
        assert_error(response, 400, name)
        assert "from 1 to 999999999" in response.json["error"]


@pytest.mark.parametrize(
    "path",
    ["/api/goals/", "/api/users/goals/", "/api/users/customactions/"],
)
def test_every_list_is_paginated(world, alice, path):
    for n in range(3):
        goal = world.goal(f"Goal {n}")
        alice.select_goal(goal)
        alice.custom_action(f"Custom {n}")
    first = alice.get(path, params={"page_size": 2}).json
    assert first["count"] == 3
    assert len(first["results"]) == 2
    assert _link(first["next"]) == (path, {"page": ["2"], "page_size": ["2"]})
    second = alice.get(first["next"]).json
    assert len(second["results"]) == 1
    assert second["next"] is None
    ids = [item["id"] for item in first["results"] + second["results"]]
    assert len(set(ids)) == 3
