"""The service for the benchmark: real processes on free ports.

A redis-server on a Unix socket, a migrated database (a SQLite file, or
a fresh PostgreSQL database next to BENCH_DATABASE_URL), gunicorn with a
fixed number of sync workers and a Celery worker, with the Procfile's
options (beat runs inside the worker, as in the integration tests), all
under one temporary folder. Each child runs in its own process group;
`stop_all` ends every group, even after Ctrl-C.
"""

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import redis

from bench.databases import Databases
from core.queue import STREAM
from core.serve import redis_binary
from core.settings import ROOT

BIN = Path(sys.executable).parent
WEB_WORKERS = 4  # WEB_CONCURRENCY's default, as the Procfile runs it
CELERY_WORKERS = 2  # WORKER_CONCURRENCY's default
STOP_GRACE = 10.0
SERVICE_VARIABLES = (
    "DATABASE_URL",
    "REDIS_URL",
    "CELERY_BROKER_URL",
    "PORT",
    "RANK_FLOOR",
    "RECOMPUTE_INTERVAL",
    "WEB_CONCURRENCY",
    "WORKER_CONCURRENCY",
    "LOG_LEVEL",
)


class BenchError(Exception):
    """The benchmark cannot go on; the message says why."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(check, what: str, timeout: float, alive=None):
    """Poll `check` until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if alive:
            alive()
        found = check()
        if found:
            return found
        time.sleep(0.1)
    raise BenchError(f"gave up after {timeout:.0f} s waiting for {what}")


class Processes:
    """Children in their own process groups, stopped in reverse order."""

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

    def get(self, name: str) -> subprocess.Popen:
        return dict(self.running)[name]

    def check_alive(self) -> None:
        for name, process in self.running:
            if process.poll() is not None:
                raise BenchError(
                    f"{name} exited with {process.returncode}:\n"
                    + self.tail(name)
                )

    def tail(self, name: str, lines: int = 20) -> str:
        path = self.folder / f"{name}.log"
        if not path.exists():
            return ""
        return "\n".join(
            path.read_text(errors="replace").splitlines()[-lines:]
        )

    def signal_group(self, name: str, signum: int) -> None:
        os.killpg(self.get(name).pid, signum)

    def stop(self, name: str) -> None:
        for index, (known, process) in enumerate(self.running):
            if known == name:
                del self.running[index]
                stop_group(process)
                return

    def stop_all(self) -> None:
        while self.running:
            _, process = self.running.pop()
            stop_group(process)


def stop_group(process: subprocess.Popen) -> None:
    """CONT and TERM the group, wait, then KILL whatever is left of it."""
    for signum in (signal.SIGCONT, signal.SIGTERM):
        try:
            os.killpg(process.pid, signum)
        except (ProcessLookupError, PermissionError):
            pass
    try:
        process.wait(timeout=STOP_GRACE)
    except subprocess.TimeoutExpired:
        pass
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    process.wait(timeout=STOP_GRACE)


def start_redis(processes: Processes) -> redis.Redis:
    """A redis-server on a Unix socket, with the append-only file on."""
    sock = processes.folder / "redis.sock"
    processes.start(
        "redis",
        [
            redis_binary(),
            "--port", "0",
            "--unixsocket", str(sock),
            "--unixsocketperm", "700",
            "--dir", str(processes.folder),
            "--appendonly", "yes",
            "--appendfsync", "everysec",
            "--save", "",
        ],
        {},
    )  # fmt: skip
    client = redis.Redis(unix_socket_path=str(sock), socket_timeout=30)

    def pong():
        try:
            return client.ping()
        except redis.RedisError:
            return False

    wait_for(pong, "redis-server", 10, processes.check_alive)
    return client


def service_env(**settings: str) -> dict:
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in SERVICE_VARIABLES
    }
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONUNBUFFERED"] = "1"
    env.update(settings)
    return env


@dataclass
class Stack:
    processes: Processes
    redis: redis.Redis
    database_url: str
    port: int
    env: dict = field(default_factory=dict)

    def start_service(self) -> None:
        """gunicorn and the Celery worker with beat, as the Procfile."""
        folder = self.processes.folder
        self.processes.start(
            "gunicorn",
            [
                str(BIN / "gunicorn"), "api.app:app",
                "--bind", f"127.0.0.1:{self.port}",
                "--workers", str(WEB_WORKERS),
                "--no-control-socket",
                "--graceful-timeout", "5",
                "--access-logfile", "-",
            ],
            self.env,
        )  # fmt: skip
        self.processes.start(
            "celery",
            [
                str(BIN / "celery"), "-A", "workers.app", "worker", "-B",
                "--concurrency", str(CELERY_WORKERS),
                "--schedule", str(folder / "beat-schedule"),
                "--pidfile=",
                "--loglevel", "INFO",
                "--hostname", f"dp-bench-{self.port}@%h",
            ],
            self.env,
        )  # fmt: skip
        wait_for(self.ready, "gunicorn /readyz", 60, self.check_alive)
        # The first drain creates the stream: beat and the worker are up.
        wait_for(
            lambda: self.redis.exists(STREAM),
            "the Celery worker and beat to run a first drain",
            60,
            self.check_alive,
        )

    def stop_service(self) -> None:
        self.processes.stop("celery")
        self.processes.stop("gunicorn")

    def check_alive(self) -> None:
        self.processes.check_alive()

    def ready(self) -> bool:
        connection = http.client.HTTPConnection(
            "127.0.0.1", self.port, timeout=5
        )
        try:
            connection.request("GET", "/readyz")
            return connection.getresponse().status == 200
        except OSError:
            return False
        finally:
            connection.close()

    def pause_workers(self) -> None:
        self.processes.signal_group("celery", signal.SIGSTOP)

    def resume_workers(self) -> None:
        self.processes.signal_group("celery", signal.SIGCONT)

    def web_workers(self) -> list[psutil.Process]:
        master = psutil.Process(self.processes.get("gunicorn").pid)
        return master.children()

    def celery_processes(self) -> list[psutil.Process]:
        main = psutil.Process(self.processes.get("celery").pid)
        return [main, *main.children()]

    def redis_process(self) -> psutil.Process:
        return psutil.Process(self.processes.get("redis").pid)


def start_stack(processes: Processes, databases: Databases) -> Stack:
    """Redis, a migrated database and the settings; not yet the service."""
    # A Unix socket path must fit in 108 bytes.
    if len(str(processes.folder / "redis.sock")) > 100:
        raise BenchError(f"folder path too long: {processes.folder}")
    client = start_redis(processes)
    port = free_port()
    database_url = databases.fresh("stack")
    env = service_env(
        DATABASE_URL=database_url,
        REDIS_URL=f"unix://{processes.folder / 'redis.sock'}",
        PORT=str(port),
        WEB_CONCURRENCY=str(WEB_WORKERS),
        WORKER_CONCURRENCY=str(CELERY_WORKERS),
    )
    return Stack(processes, client, database_url, port, env)
