import json
from argparse import Namespace
from datetime import date, datetime

import pytest

from core import cli, queue
from core.imports import FileError, read_file
from core.reports import Report
from tests.core.support import person, rows


@pytest.fixture
def owner(world):
    user = person(world, "Asia/Kolkata")
    user.ua = user.select_action(world.action())
    user.ca = user.custom_action()
    return user


def line(user, target, kind="action", **extra) -> str:
    entry = {
        "user": user,
        "kind": kind,
        "target": target,
        "state": "completed",
        "occurred_at": "2024-01-10T20:00:00Z",
        **extra,
    }
    return json.dumps(entry)


def write(tmp_path, *lines) -> str:
    path = tmp_path / "reports.jsonl"
    path.write_text("".join(f"{text}\n" for text in lines), encoding="utf-8")
    return str(path)


def read(db, path) -> list[Report]:
    with db.reading() as session:
        return read_file(session, path)


def refused(db, path) -> str:
    with pytest.raises(FileError) as error:
        read(db, path)
    return str(error.value)


def test_import_reads_a_valid_file_in_order(db, owner, tmp_path):
    path = write(
        tmp_path,
        line(owner.id, owner.ua, state="snoozed", length="1h"),
        line(owner.id, owner.ca, "customaction"),
        line(
            owner.id,
            owner.ua,
            state="uncompleted",
            occurred_at="2023-03-01T23:00:00-05:00",
        ),
    )
    found = read(db, path)
    assert [(r.kind, r.target_id, r.state) for r in found] == [
        ("action", owner.ua, "snoozed"),
        ("customaction", owner.ca, "completed"),
        ("action", owner.ua, "uncompleted"),
    ]
    # 20:00 UTC is 01:30 the next day in Kolkata.
    assert found[0].day == date(2024, 1, 11)
    assert found[0].occurred_at == datetime(2024, 1, 10, 20, 0)
    assert found[0].length == "1h"
    assert found[2].occurred_at == datetime(2023, 3, 2, 4, 0)
    assert found[2].day == date(2023, 3, 2)


def test_import_skips_blank_lines_and_keeps_their_numbers(db, owner, tmp_path):
    path = write(tmp_path, "", line(owner.id, owner.ua), "   ", "{oops")
    assert refused(db, path) == "line 4: not valid JSON"


@pytest.mark.parametrize(
    "bad, message",
    [
        ("[1, 2]", "expected a JSON object"),
        ('{"kind": "action", "target": 1}', "user: expected a positive id"),
        ("user-zero", "user: expected a positive id"),
        ("user-true", "user: expected a positive id"),
        ("user-huge", "user: expected a positive id"),
        ("target-text", "target: expected a positive id"),
        ("target-float", "target: expected a positive id"),
        ("target-huge", "target: expected a positive id"),
        ("kind", "kind: action or customaction"),
        ("no-time", "occurred_at: required"),
        ("naive-time", "occurred_at: the time needs a UTC offset"),
        ("ahead", "occurred_at: more than 5 minutes ahead"),
        ("year-one", "occurred_at: out of range"),
        ("state", "state: must be one of"),
        ("length", "length: a string of at most 64 characters"),
    ],
)
def test_import_names_the_first_bad_line(db, owner, tmp_path, bad, message):
    good = line(owner.id, owner.ua)
    variants = {
        "user-zero": line(0, owner.ua),
        "user-true": line(True, owner.ua),
        "user-huge": line(2**70, owner.ua),
        "target-text": line(owner.id, str(owner.ua)),
        "target-float": line(owner.id, 1.0),
        "target-huge": line(owner.id, 2**63),
        "kind": line(owner.id, owner.ua, kind="goal"),
        "no-time": line(owner.id, owner.ua, occurred_at=None),
        "naive-time": line(
            owner.id, owner.ua, occurred_at="2024-01-10T20:00:00"
        ),
        "ahead": line(owner.id, owner.ua, occurred_at="2999-01-01T00:00Z"),
        "year-one": line(
            owner.id, owner.ua, occurred_at="0001-01-01T00:00:00+05:00"
        ),
        "state": line(owner.id, owner.ua, state="done"),
        "length": line(owner.id, owner.ua, length="x" * 65),
    }
    path = write(tmp_path, good, good, variants.get(bad, bad), "also bad")
    found = refused(db, path)
    assert found.startswith("line 3: ")
    assert message in found


def test_import_refuses_an_unknown_user(db, owner, tmp_path):
    path = write(tmp_path, line(owner.id, owner.ua), line(999, owner.ua))
    assert refused(db, path) == "line 2: user: no user with id 999"


def test_import_refuses_a_target_the_user_does_not_own(
    db, world, owner, tmp_path
):
    other = person(world)
    theirs = other.select_action(world.action("Theirs"))
    path = write(
        tmp_path,
        line(owner.id, owner.ua),
        line(owner.id, theirs),
    )
    assert refused(db, path) == (
        f"line 2: target: user {owner.id} has no action {theirs}"
    )


def test_import_refuses_an_action_id_given_as_a_custom_action(
    db, owner, tmp_path
):
    wrong = owner.ua + owner.ca + 100
    path = write(tmp_path, line(owner.id, wrong, "customaction"))
    assert refused(db, path) == (
        f"line 1: target: user {owner.id} has no customaction {wrong}"
    )


def test_import_of_a_missing_file_is_refused(db, tmp_path):
    message = refused(db, str(tmp_path / "nowhere.jsonl"))
    assert message.startswith("cannot read ")


def test_import_of_a_file_that_is_not_utf8_is_refused(db, tmp_path):
    path = tmp_path / "latin.jsonl"
    path.write_bytes(b'{"user": 1, "title": "caf\xe9"}\n')
    assert refused(db, str(path)).startswith("cannot read ")


def test_import_of_an_empty_file_reads_nothing(db, tmp_path):
    assert read(db, write(tmp_path)) == []


# Through the command, which queues what it read.


def run_import(services, path):
    return cli.import_reports(services, Namespace(file=path))


def queued(redis) -> list[Report]:
    return [
        Report.from_fields(fields) for _, fields in redis.xrange(queue.STREAM)
    ]


def test_import_command_queues_a_valid_file_in_order(
    services, owner, tmp_path
):
    path = write(
        tmp_path,
        line(owner.id, owner.ua, occurred_at="2024-01-02T10:00:00Z"),
        line(owner.id, owner.ca, "customaction"),
        line(owner.id, owner.ua, state="dismissed"),
    )
    answer = run_import(services, path)
    assert answer == {"queued": 3, "users": 1, "file": path}
    assert [
        (r.target_id, r.state, r.day) for r in queued(services.broker)
    ] == [
        (owner.ua, "completed", date(2024, 1, 2)),
        (owner.ca, "completed", date(2024, 1, 11)),
        (owner.ua, "dismissed", date(2024, 1, 11)),
    ]


def test_import_command_queues_nothing_from_a_file_with_a_bad_line(
    services, owner, tmp_path
):
    path = write(
        tmp_path,
        line(owner.id, owner.ua),
        line(owner.id, owner.ua, state="finished"),
    )
    with pytest.raises(cli.CommandError, match="^line 2: state: "):
        run_import(services, path)
    assert services.broker.xlen(queue.STREAM) == 0


def test_importing_a_file_twice_changes_nothing_the_second_time(
    world, services, owner, tmp_path
):
    path = write(
        tmp_path,
        line(owner.id, owner.ua, occurred_at="2024-01-02T10:00:00Z"),
        line(owner.id, owner.ua, state="snoozed"),
        line(owner.id, owner.ca, "customaction", state="dismissed"),
    )
    run_import(services, path)
    world.drain()
    first = _counters(services.db, owner.id)
    run_import(services, path)
    world.drain()
    assert _counters(services.db, owner.id) == first
    assert first == {
        date(2024, 1, 2): (1, 0, 0, 0),
        date(2024, 1, 11): (0, 1, 0, 1),
    }


def _counters(db, user_id) -> dict:
    return {
        found.day: (
            found.actions_completed,
            found.actions_snoozed,
            found.customactions_completed,
            found.customactions_dismissed,
        )
        for found in rows(db, user_id)
        if found.day.year == 2024
    }
