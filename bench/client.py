"""Talking to the running service: HTTP as the mobile client, and the CLI."""

import contextlib
import http.client
import io
import json
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from core import cli
from core.settings import ROOT


class DemoError(Exception):
    """The demo cannot go on; the message says why."""


@dataclass
class Answer:
    status: int
    data: object
    sent: datetime  # aware UTC, just before the request
    answered: datetime  # aware UTC, once the answer was read


class Api:
    """JSON over HTTP to 127.0.0.1, one connection per request.

    Keeps count of the requests, and a list of answers that were not
    the expected ones.
    """

    def __init__(self, port: int, timeout: float = 30.0):
        self.port = port
        self.timeout = timeout
        self.requests = 0
        self.problems: list[str] = []
        self._lock = threading.Lock()

    def call(
        self, method, path, token=None, body=None, *, json_type=True
    ) -> Answer:
        headers = {"Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Token {token}"
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            if json_type:
                headers["Content-Type"] = "application/json; charset=utf-8"
        for attempt in range(4):
            answer = self._once(method, path, headers, data)
            if answer.status != 503 or attempt == 3:
                return answer
            # 503: nothing was done; the service says when to come back.
            time.sleep(2.0)
        raise AssertionError("unreachable")

    def _once(self, method, path, headers, data) -> Answer:
        connection = http.client.HTTPConnection(
            "127.0.0.1", self.port, timeout=self.timeout
        )
        sent = datetime.now(UTC)
        try:
            connection.request(method, path, body=data, headers=headers)
            response = connection.getresponse()
            raw = response.read()
        finally:
            connection.close()
        answered = datetime.now(UTC)
        with self._lock:
            self.requests += 1
        try:
            decoded = json.loads(raw) if raw else None
        except ValueError:
            decoded = raw[:200]
        return Answer(response.status, decoded, sent, answered)

    def expect(self, answer: Answer, statuses, what: str) -> bool:
        """Whether the status is one of `statuses`; keeps it if not."""
        if answer.status in statuses:
            return True
        with self._lock:
            self.problems.append(
                f"{what}: HTTP {answer.status} {answer.data!r}"[:300]
            )
        return False

    def problem(self, text: str) -> None:
        with self._lock:
            self.problems.append(text[:300])


def ready(port: int) -> tuple[bool, str]:
    """Whether /readyz answers 200, and what it said."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", "/readyz")
        response = connection.getresponse()
        return response.status == 200, response.read().decode()[:300]
    except OSError as exc:
        return False, f"{type(exc).__name__}: {exc}"
    finally:
        connection.close()


def run_cli(*args: str) -> dict:
    """`dailyprogress ARGS` through its entry point, in this process.

    A fresh interpreter costs about a second per command; hundreds of
    create-user calls would take minutes.
    """
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = cli.main(list(args))
    return _result(args, code, out.getvalue())


def run_tool(*args: str) -> dict:
    """The installed `dailyprogress` command, as an operator runs it."""
    tool = Path(sys.executable).with_name("dailyprogress")
    command = [str(tool)] if tool.exists() else [sys.executable, "-m"]
    if not tool.exists():
        command.append("core.cli")
    done = subprocess.run(
        [*command, *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        timeout=600,
        check=False,
    )
    return _result(args, done.returncode, done.stdout)


def _result(args, code: int, out: str) -> dict:
    try:
        result = json.loads(out.strip().splitlines()[-1])
    except (ValueError, IndexError):
        result = {"error": f"not one JSON object: {out[:200]!r}"}
    if code != 0:
        raise DemoError(f"dailyprogress {args[0]} exited {code}: {result}")
    return result
