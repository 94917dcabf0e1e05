"""What the processes use: resident memory over time, CPU per role.

A sampler thread reads the RSS of every gunicorn worker, every Celery
process and redis-server twice a second while the load runs, and keeps
each role's peak. `CpuMeter` tells how the CPU time of one stretch of
load split between the roles, the load generator and the rest.
"""

import threading
import time

import psutil
from redis import Redis

from bench.stack import Stack
from core.ranks import RANK, STAMP, UNTIL

MB = 1024 * 1024


def _roles(stack: Stack) -> dict[str, list[psutil.Process]]:
    celery = stack.celery_processes()
    return {
        "gunicorn_worker": stack.web_workers(),
        "celery_main": celery[:1],
        "celery_child": celery[1:],
        "redis": [stack.redis_process()],
    }


class Sampler:
    """Peak RSS per role, sampled until `stop`."""

    def __init__(self, stack: Stack, every: float = 0.5):
        self._stack = stack
        self._every = every
        self._done = threading.Event()
        self.peaks: dict[str, int] = {}
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "Sampler":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._done.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._done.wait(self._every):
            try:
                roles = _roles(self._stack)
            except psutil.Error:
                continue
            for role, processes in roles.items():
                for process in processes:
                    try:
                        rss = process.memory_info().rss
                    except psutil.Error:
                        continue
                    self.peaks[role] = max(self.peaks.get(role, 0), rss)

    def summary(self) -> dict:
        return {
            f"{role}_peak_rss_mb": round(rss / MB, 1)
            for role, rss in sorted(self.peaks.items())
        }


class CpuMeter:
    """CPU seconds per role between `start` and `stop`."""

    def __init__(self, stack: Stack):
        self._stack = stack

    def _read(self) -> tuple[dict[str, float], float, object]:
        spent = {}
        for role, processes in _roles(self._stack).items():
            total = 0.0
            for process in processes:
                try:
                    times = process.cpu_times()
                except psutil.Error:
                    continue
                total += times.user + times.system
            spent[role] = total
        mine = psutil.Process().cpu_times()
        spent["bench"] = mine.user + mine.system
        return spent, time.monotonic(), psutil.cpu_times()

    def start(self) -> None:
        self._start = self._read()

    def stop(self, wrk_cpu: float = 0.0) -> dict:
        """Shares of the machine (all cores) per role, and the rest.

        `seconds` keeps the CPU seconds of each role.
        """
        (first, began, machine0), (last, ended, machine1) = (
            self._start,
            self._read(),
        )
        spent = {role: last[role] - first.get(role, 0.0) for role in last}
        spent["celery"] = spent.pop("celery_main") + spent.pop("celery_child")
        spent["wrk"] = wrk_cpu
        capacity = (ended - began) * psutil.cpu_count()
        busy = busy_seconds(machine0, machine1)
        spent["other"] = max(0.0, busy - sum(spent.values()))
        self.seconds = spent
        return {role: round(cpu / capacity, 3) for role, cpu in spent.items()}


def busy_seconds(before, after) -> float:
    """CPU seconds the machine was busy; guest time is in user already."""
    skip = ("idle", "iowait", "steal", "guest", "guest_nice")
    return sum(
        getattr(after, name) - getattr(before, name)
        for name in after._fields
        if name not in skip
    )


def rank_memory(redis: Redis, users: int) -> dict:
    """Bytes the rank keys take per ranked user."""
    per_key = {
        name: redis.memory_usage(name, samples=0) or 0
        for name in (RANK, UNTIL, STAMP)
    }
    total = sum(per_key.values())
    return {
        "users": users,
        "bytes_per_user": round(total / users, 1),
        "bytes_by_key": per_key,
        "total_mb": round(total / MB, 1),
    }
