"""The whole service as separate processes, and a client to drive it.

A redis-server on a Unix socket, a migrated SQLite file, gunicorn and a
Celery worker with embedded beat, all in one temporary folder, driven
over HTTP exactly as the mobile client drives it. Every process runs in
its own process group and is stopped, then killed if it lingers.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import redis
import requests
from sqlalchemy import create_engine, make_url, text

from core.queue import DEAD, STREAM
from core.serve import redis_binary
from core.settings import ROOT

BIN = Path(sys.executable).parent
DEADLINE = 30.0
STOP_GRACE = 15.0
# Settings the service reads; the session sets its own, nothing leaks in.
SERVICE_VARIABLES = (
    "DATABASE_URL",
    "REDIS_URL",
    "CELERY_BROKER_URL",
    "PORT",
    "RANK_FLOOR",
    "CHECKIN_MIN",
    "CHECKIN_MAX",
    "RECOMPUTE_INTERVAL",
    "WEB_CONCURRENCY",
    "CLAIM_AFTER_MS",
    "SQLITE_BUSY_TIMEOUT",
)
RANK_FLOOR = 15.0
GOALS = ("Sleep well", "Move more", "Read daily")


def wait_until(check, what: str, timeout: float = DEADLINE):
    """Poll `check` until it is done; fail with a message at the deadline.

    `check` returns either a value, done when truthy, or a pair
    (done, value); the value is returned, or shown when time is up.
    """
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        done, value = found if isinstance(found, tuple) else (found, found)
        if done:
            return value
        if time.monotonic() > deadline:
            pytest.fail(
                f"gave up after {timeout:.0f} s waiting for {what}; "
                f"last seen: {value!r}"
            )
        time.sleep(0.1)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def local_time(zone: str, days_ago: int, hour: int = 12) -> str:
    """An hour of a past local day in `zone`, as ISO 8601 with its offset."""
    day = datetime.now(ZoneInfo(zone)).date() - timedelta(days=days_ago)
    moment = datetime.combine(day, clock(hour), tzinfo=ZoneInfo(zone))
    return moment.isoformat()


def local_today(zone: str, days_ago: int = 0) -> str:
    day = datetime.now(UTC).astimezone(ZoneInfo(zone)).date()
    return (day - timedelta(days=days_ago)).isoformat()


class Processes:
    """Children started in their own process groups, stopped in reverse."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.running: list[tuple[str, subprocess.Popen]] = []

    def start(self, name: str, argv: list[str], env: dict):
        with open(self.folder / f"{name}.log", "ab") as log:
            process = subprocess.Popen(
                argv,
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.running.append((name, process))
        return process

    def check_alive(self) -> None:
        for name, process in self.running:
            if process.poll() is not None:
                pytest.fail(
                    f"{name} exited with {process.returncode}:\n"
                    + self.tail(name)
                )

    def tail(self, name: str, lines: int = 30) -> str:
        path = self.folder / f"{name}.log"
        if not path.exists():
            return ""
        text = path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def stop(self, name: str) -> None:
        for index, (known, process) in enumerate(self.running):
            if known == name:
                del self.running[index]
                _stop(process)
                return

    def kill(self, name: str) -> None:
        """SIGKILL the whole group at once: a crash, not a shutdown."""
        for index, (known, process) in enumerate(self.running):
            if known == name:
                del self.running[index]
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=STOP_GRACE)
                return
        raise AssertionError(f"{name} is not running")

    def stop_all(self) -> None:
        while self.running:
            _, process = self.running.pop()
            _stop(process)


def _stop(process: subprocess.Popen) -> None:
    """TERM the leader, wait, then KILL its whole group, leftovers too."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=STOP_GRACE)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    process.wait(timeout=STOP_GRACE)


@dataclass
class ApiUser:
    """A user of the service, calling it with their token."""

    stack: "Stack"
    id: int
    email: str
    timezone: str
    token: str
    reported: bool = False  # has a recorded state, so is ranked

    def request(self, method: str, path: str, **kwargs):
        headers = {"Authorization": f"Token {self.token}"}
        response = self.stack.http.request(
            method,
            self.stack.base_url + path,
            headers=headers,
            timeout=10,
            **kwargs,
        )
        assert response.status_code != 500, response.text
        return response

    def get(self, path: str, **kwargs):
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs):
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs):
        return self.request("PUT", path, **kwargs)

    def select_goal(self, goal_id: int) -> None:
        response = self.post("/api/users/goals/", json={"goal": goal_id})
        assert response.status_code == 201, response.text

    def select_action(self, action_id: int) -> int:
        """Returns the user action id."""
        response = self.post("/api/users/actions/", json={"action": action_id})
        assert response.status_code == 201, response.text
        return response.json()["id"]

    def custom_action(self, title: str = "Stretch") -> int:
        response = self.post(
            "/api/users/customactions/", json={"title": title}
        )
        assert response.status_code == 201, response.text
        return response.json()["id"]

    def report(self, kind: str, target: int, **body) -> dict:
        """A report, as the client posts it; returns the 202 answer."""
        response = self.post(
            f"/api/users/{kind}s/{target}/complete/", json=body or None
        )
        assert response.status_code == 202, response.text
        self.reported = True
        return response.json()

    def latest(self) -> dict:
        response = self.get("/api/users/progress/latest/")
        assert response.status_code == 200, response.text
        return response.json()

    def rows(self) -> list[dict]:
        response = self.get("/api/users/progress/", params={"page_size": 100})
        assert response.status_code == 200, response.text
        return response.json()["results"]

    def streaks(self, days: int = 7) -> dict:
        response = self.get(
            "/api/users/progress/streaks/", params={"days": days}
        )
        assert response.status_code == 200, response.text
        return response.json()

    def today(self) -> dict | None:
        """The row of the user's local today, which is not the newest
        row after a move west across the date line."""
        day = local_today(self.timezone)
        return next((r for r in self.rows() if r["date"] == day), None)

    def wait_for_today(self, what: str, **expected) -> dict:
        """Poll today's row until it shows the expected fields."""

        def check():
            row = self.today() or {}
            seen = {name: row.get(name) for name in expected}
            return seen == expected, row

        return wait_until(check, f"user {self.id}: {what}")


@dataclass
class Stack:
    folder: Path
    env: dict
    base_url: str
    redis: redis.Redis
    processes: Processes
    goals: list[int] = field(default_factory=list)
    actions: list[int] = field(default_factory=list)
    users: list[ApiUser] = field(default_factory=list)
    _local: threading.local = field(default_factory=threading.local)

    @property
    def goal(self) -> int:
        return self.goals[0]

    @property
    def http(self) -> requests.Session:
        """This thread's HTTP session: a session is not for sharing."""
        if not hasattr(self._local, "http"):
            self._local.http = _http()
        return self._local.http

    def cli(self, *args: str, env: dict | None = None) -> tuple[int, dict]:
        """Runs `dailyprogress`; returns its exit code and its JSON."""
        done = subprocess.run(
            [str(BIN / "dailyprogress"), *args],
            cwd=ROOT,
            env=env or self.env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
        )
        self._local.cli_stderr = done.stderr  # progress bars go there
        lines = done.stdout.strip().splitlines()
        assert len(lines) == 1, (done.stdout, done.stderr)
        return done.returncode, json.loads(lines[0])

    @property
    def cli_stderr(self) -> str:
        """What this thread's last `dailyprogress` wrote on stderr."""
        return self._local.cli_stderr

    def cli_ok(self, *args: str) -> dict:
        code, answer = self.cli(*args)
        assert code == 0, answer
        return answer

    def cli_many(self, *commands: tuple, env: dict | None = None) -> list:
        """Runs several commands at once; (exit code, JSON) of each."""
        with ThreadPoolExecutor(max_workers=len(commands)) as pool:
            return list(
                pool.map(lambda args: self.cli(*args, env=env), commands)
            )

    def create_users(self, *zones: str) -> list[ApiUser]:
        """Users made with the CLI, one per time zone."""
        stamp = f"{os.getpid()}-{time.monotonic_ns()}"
        made = self.cli_many(
            *(
                ("create-user", "--email", f"u{n}-{stamp}@example.org")
                + ("--timezone", zone)
                for n, zone in enumerate(zones)
            )
        )
        users = []
        for code, answer in made:
            assert code == 0, answer
            users.append(
                ApiUser(
                    self,
                    answer["id"],
                    answer["email"],
                    answer["timezone"],
                    answer["token"],
                )
            )
        self.users.extend(users)
        return users

    def backlog(self) -> int:
        return self.redis.xlen(STREAM)

    def settle(self) -> None:
        """Wait until the workers applied everything queued; none buried."""
        wait_until(
            lambda: (self.backlog() == 0, self.backlog()),
            "the workers to drain dp:reports",
        )
        buried = self.redis.xrange(DEAD)
        assert not buried, f"reports were buried: {buried}"

    def start_web(self, name: str, env: dict, port: int):
        return self.processes.start(
            name,
            [
                str(BIN / "gunicorn"),
                "api.app:app",
                "--bind", f"127.0.0.1:{port}",
                "--workers", "2",
                # Threads too, so races reach the app 16 requests at a time.
                "--threads", "8",
                "--no-control-socket",
                "--graceful-timeout", "5",
            ],
            env,
        )  # fmt: skip

    def start_worker(self, name: str = "celery"):
        """A Celery worker with embedded beat, logging to `name`.log."""
        return self.processes.start(
            name,
            [
                str(BIN / "celery"), "-A", "workers.app", "worker", "-B",
                "--concurrency", "2",
                "--schedule", str(self.folder / "beat-schedule"),
                "--pidfile=",
                "--loglevel", "INFO",
                "--hostname", f"dp-it-{self.env['PORT']}@%h",
            ],
            self.env,
        )  # fmt: skip

    def start_redis(self) -> None:
        """redis-server again, on the same socket and append-only file."""
        _start_redis(self.processes, self.folder)

    def wait_ready(self, url: str, what: str) -> None:
        def check():
            self.processes.check_alive()
            try:
                response = self.http.get(url + "/readyz", timeout=2)
            except requests.ConnectionError as exc:
                return False, repr(exc)
            return response.status_code == 200, response.text

        wait_until(check, f"{what} to answer /readyz with 200")


def service_env(**settings: str) -> dict:
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in SERVICE_VARIABLES
    }
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONUNBUFFERED"] = "1"
    # Far from UTC, so that a rule that reads the host's clock shows.
    env["TZ"] = "Pacific/Kiritimati"
    env.update(settings)
    return env


def _start_redis(processes: Processes, folder: Path) -> redis.Redis:
    sock = folder / "redis.sock"
    processes.start(
        "redis",
        [
            redis_binary(),
            "--port", "0",
            "--unixsocket", str(sock),
            "--unixsocketperm", "700",
            "--dir", str(folder),
            "--appendonly", "yes",
            "--appendfsync", "everysec",
            "--save", "",
        ],
        {},
    )  # fmt: skip
    client = redis.Redis(unix_socket_path=str(sock), socket_timeout=5)

    def check():
        processes.check_alive()
        try:
            return client.ping(), "PONG"
        except redis.RedisError as exc:
            return False, repr(exc)

    wait_until(check, "redis-server to answer PING", timeout=10)
    return client


def stack_database_url(folder: Path) -> str:
    """A SQLite file in `folder`; on PostgreSQL, a database of its own.

    With TEST_DATABASE_URL on PostgreSQL, the stack gets an empty sibling
    database, so unit tests resetting theirs never pull tables from under
    the running workers.
    """
    base = os.environ.get("TEST_DATABASE_URL", "")
    if not base.startswith("postgresql"):
        return f"sqlite:///{folder / 'dailyprogress.sqlite3'}"
    url = make_url(base)
    name = f"{url.database}_stack_{folder.name[-12:]}".lower()
    name = "".join(c if c.isalnum() else "_" for c in name)
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def _ids(results: list) -> list[int]:
    for code, answer in results:
        assert code == 0, answer
    return [answer["id"] for _, answer in results]


def _http() -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # no proxy: traffic stays on 127.0.0.1
    return session


@contextmanager
def running_stack(folder: Path, **settings: str) -> Iterator[Stack]:
    """The service in `folder`, up and ready; stopped on the way out.

    `settings` are more environment variables for the service.
    """
    # A Unix socket path must fit in 108 bytes.
    assert len(str(folder / "redis.sock")) < 100, folder
    processes = Processes(folder)
    try:
        client = _start_redis(processes, folder)
        port = free_port()
        env = service_env(
            DATABASE_URL=stack_database_url(folder),
            REDIS_URL=f"unix://{folder / 'redis.sock'}",
            PORT=str(port),
            PROMETHEUS_MULTIPROC_DIR=str(folder / "metrics"),
            **settings,
        )
        (folder / "metrics").mkdir(exist_ok=True)
        stack = Stack(
            folder,
            env,
            f"http://127.0.0.1:{port}",
            client,
            processes,
        )
        stack.cli_ok("migrate")

        stack.start_web("gunicorn", env, port)
        stack.start_worker()

        # The catalogue every test shares, made while the processes start.
        made = stack.cli_many(*(("create-goal", "--title", t) for t in GOALS))
        stack.goals = _ids(made)
        goal = str(stack.goal)
        stack.actions = _ids(
            stack.cli_many(
                ("create-action", "--title", "Walk", "--goal", goal),
                ("create-action", "--title", "Read", "--goal", goal),
            )
        )

        stack.wait_ready(stack.base_url, "gunicorn")
        # The first drain creates the stream: beat and the worker are up.
        wait_until(
            lambda: (processes.check_alive(), client.exists(STREAM))[1],
            "the Celery worker and beat to run a first drain",
        )
        yield stack
    finally:
        processes.stop_all()
