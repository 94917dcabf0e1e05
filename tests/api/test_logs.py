import io
import json
import logging

import pytest

from core import logs


@pytest.fixture
def json_logs():
    """The JSON lines logged since the last call."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    stream = io.StringIO()
    logs.configure("INFO", stream)

    def read():
        text = stream.getvalue()
        stream.seek(0)
        stream.truncate()
        return [json.loads(line) for line in text.splitlines()]

    yield read
    root.handlers[:], level = saved
    root.setLevel(level)


def test_each_request_logs_one_json_line_with_ids_and_timing(world, json_logs):
    user = world.user(timezone="UTC")
    target = user.select_action(world.action())
    json_logs()  # drop what setting up logged

    response = user.post(f"/api/users/actions/{target}/complete/")
    assert response.status_code == 202

    lines = [line for line in json_logs() if line["message"] == "request"]
    assert len(lines) == 1
    (line,) = lines
    assert line["level"] == "INFO"
    assert line["method"] == "POST"
    assert line["path"] == f"/api/users/actions/{target}/complete/"
    assert line["route"].endswith("/complete/")
    assert line["status"] == 202
    assert line["user"] == user.id
    assert isinstance(line["ms"], float)
    assert "time" in line


def test_an_unexpected_error_logs_its_traceback_as_json(
    world, json_logs, monkeypatch
):
    user = world.user()

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("api.progress.streaks.read_counts", broken)
    assert user.get("/api/users/progress/streaks/").status_code == 500
    errors = [line for line in json_logs() if line["level"] == "ERROR"]
    assert errors and "RuntimeError: boom" in errors[0]["exc_info"]


def test_log_level_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("LOG_LEVEL", "WARNING")
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        logs.configure()
        assert root.level == logging.WARNING
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
