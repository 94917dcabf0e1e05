"""Pipeline: do the workers keep up with what the API accepts?

1. wrk sends reports for a sustained stretch at the ingest peak rate,
   paced over 16 connections, with the workers running (when the API
   cannot take that much beside them, it takes what it can: the
   accepted rate is measured).
2. Every second the bench reads the backlog (the length of the stream)
   and the reports applied so far (rows of `action_reports`).
3. Probe users, apart from the load, post a report, then poll their
   newest day row every 50 ms until it shows it: the lag from the 202
   to the figure being visible in the API.
4. After the load the workers drain what is left; every accepted report
   must then be in SQL, in the dead-letter stream or still queued.
"""

import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select

from bench.ingest import report_calls
from bench.load import WrkRun, call, run_wrk, write_script
from bench.memory import CpuMeter
from bench.seed import Member
from bench.stack import WEB_WORKERS, Stack
from core.db import Database
from core.models import ActionReport
from core.queue import DEAD, backlog

POLL = 0.05
GIVE_UP = 30.0
# Twice the connections of the peak: when the workers leave the API less
# CPU than it had alone, at most this many reports wait in line.
CONNECTIONS = 16


class Probes:
    """Users who report and watch for their report to show."""

    def __init__(self, port: int, members: list[Member]):
        self._port = port
        self._members = members
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.lags: list[float] = []
        self.accepted = 0
        self.unseen = 0
        self.statuses: Counter = Counter()
        self._threads = [
            threading.Thread(target=self._probe, args=(m,), daemon=True)
            for m in members
        ]

    def __enter__(self) -> "Probes":
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=GIVE_UP + 15)

    def _probe(self, member: Member) -> None:
        done = False
        while not self._stop.is_set():
            done = not done
            state = "completed" if done else "uncompleted"
            try:
                status, _ = call(
                    self._port,
                    "POST",
                    member.report_path,
                    member.token,
                    {"state": state},
                )
            except OSError as exc:
                status = type(exc).__name__
            with self._lock:
                self.statuses[status] += 1
            if status != 202:
                time.sleep(POLL)
                continue
            answered = time.monotonic()
            with self._lock:
                self.accepted += 1
            lag = self._watch(member, 1 if done else 0, answered)
            with self._lock:
                if lag is None:
                    self.unseen += 1
                else:
                    self.lags.append(lag)

    def _watch(self, member: Member, expected: int, since: float):
        while time.monotonic() - since < GIVE_UP:
            try:
                status, row = call(
                    self._port,
                    "GET",
                    "/api/users/progress/latest/",
                    member.token,
                )
            except OSError as exc:
                status, row = type(exc).__name__, None
            if status == 200 and row["actions_completed"] == expected:
                return time.monotonic() - since
            if status not in (200, 404):
                with self._lock:
                    self.statuses[f"GET {status}"] += 1
            time.sleep(POLL)
        return None


def applied_count(db: Database) -> int:
    with db.reading() as session:
        return session.scalar(select(func.count()).select_from(ActionReport))


@dataclass
class Pipeline:
    run: WrkRun | None = None
    target_rps: float = 0.0
    series: list[tuple] = field(default_factory=list)
    applied_during: int = 0
    probes: Probes | None = None
    after: dict = field(default_factory=dict)
    cpu: dict = field(default_factory=dict)
    cpu_ms: dict = field(default_factory=dict)

    def steady(self) -> tuple[float, float]:
        """Queued and applied per second, from the samples after the
        first 5 s: every accepted report is either applied or in the
        backlog, so their sum grows at the accepted rate. Unlike counts
        over the window, this does not depend on where a drain falls."""
        points = [(t, b, a) for t, b, a in self.series if t >= 5]
        points = points if len(points) >= 3 else self.series
        queued = _slope([(t, a + b) for t, b, a in points])
        applied = _slope([(t, a) for t, _, a in points])
        return queued, applied

    def summary(self) -> dict:
        accepted = self.run.requests - self.run.errors["status"]
        accepted_rps = accepted / self.run.seconds
        applied_rps = self.applied_during / self.run.seconds
        queued, applied = self.steady()
        lags = sorted(self.probes.lags)
        return {
            "seconds": round(self.run.seconds, 1),
            "target_rps": round(self.target_rps, 1),
            "ingest_rps": round(accepted_rps, 1),
            "applied_rps": round(applied_rps, 1),
            "ratio_window": round(applied_rps / max(accepted_rps, 1e-9), 3),
            "steady_queued_rps": round(queued, 1),
            "steady_applied_rps": round(applied, 1),
            # Two decimals: the slopes are not more precise than that.
            "ratio": round(applied / queued, 2) if queued > 0 else None,
            "backlog_growth_per_s": round(queued - applied, 2),
            "cpu_ms": self.cpu_ms,
            "lag_p50_s": round(_quantile(lags, 0.50), 3),
            "lag_p99_s": round(_quantile(lags, 0.99), 3),
            "lag_max_s": round(lags[-1], 3) if lags else None,
            "lag_samples": len(lags),
            "lag_unseen_after_30s": self.probes.unseen,
            "probe_statuses": {
                str(k): v for k, v in self.probes.statuses.items()
            },
            "backlog_max": max((b for _, b, _ in self.series), default=0),
            "backlog_end": self.series[-1][1] if self.series else 0,
            "backlog": [[round(t, 1), b] for t, b, _ in self.series],
            "load": self.run.summary(),
            "cpu_share": self.cpu,
            "after": self.after,
        }


def _slope(points: list[tuple]) -> float:
    """Least-squares slope of (t, y) points."""
    if len(points) < 2:
        return 0.0
    mean_t = sum(t for t, _ in points) / len(points)
    mean_y = sum(y for _, y in points) / len(points)
    spread = sum((t - mean_t) ** 2 for t, _ in points)
    rise = sum((t - mean_t) * (y - mean_y) for t, y in points)
    return rise / spread if spread else 0.0


def _quantile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    return values[min(len(values) - 1, int(q * len(values)))]


def sustain(
    stack: Stack,
    wrk: str,
    folder: Path,
    members: list[Member],
    probes: list[Member],
    rate: float,
    seconds: float,
    say,
) -> Pipeline:
    """Steps 1 to 4."""
    db = Database(stack.database_url)
    result = Pipeline(target_rps=rate)
    # At the peak, each gunicorn worker takes about this long a request.
    per_request_ms = WEB_WORKERS * 1000 / rate
    pause = max(0, round(CONNECTIONS * 1000 / rate - per_request_ms))
    script = write_script(folder, "sustain", report_calls(members), pause)
    dead_before = stack.redis.xlen(DEAD)
    applied_before = applied_count(db)
    stop = threading.Event()

    def sample():
        began = time.monotonic()
        while not stop.wait(1.0):
            result.series.append(
                (
                    time.monotonic() - began,
                    backlog(stack.redis),
                    applied_count(db),
                )
            )

    sampler = threading.Thread(target=sample, daemon=True)
    meter = CpuMeter(stack)
    with Probes(stack.port, probes) as watching:
        sampler.start()
        meter.start()
        try:
            result.run = run_wrk(
                wrk,
                f"http://127.0.0.1:{stack.port}",
                members[0].report_path,
                script,
                seconds=seconds,
                connections=CONNECTIONS,
            )
        finally:
            stop.set()
            sampler.join(timeout=10)
        result.cpu = meter.stop(result.run.cpu_seconds)
    result.probes = watching
    result.applied_during = applied_count(db) - applied_before
    result.cpu_ms = {
        "gunicorn_per_request": round(
            meter.seconds["gunicorn_worker"] * 1000 / result.run.requests, 3
        ),
        "celery_per_applied": round(
            meter.seconds["celery"] * 1000 / max(result.applied_during, 1), 3
        ),
    }
    say(
        f"  offered {rate:.0f}/s, accepted {result.run.rps:.1f}/s, "
        f"applied {result.applied_during / result.run.seconds:.1f}/s, "
        f"backlog at the end {backlog(stack.redis)}"
    )

    # 4. Drain, then account for every accepted report.
    started = time.monotonic()
    while backlog(stack.redis) and time.monotonic() - started < 180:
        stack.check_alive()
        time.sleep(0.5)
    accepted = result.run.requests - result.run.errors["status"]
    accepted += watching.accepted
    applied = applied_count(db) - applied_before
    buried = stack.redis.xlen(DEAD) - dead_before
    queued = backlog(stack.redis)
    result.after = {
        "drain_seconds": round(time.monotonic() - started, 1),
        "accepted": accepted,
        "applied": applied,
        "buried": buried,
        "still_queued": queued,
        "missing": max(0, accepted - applied - buried - queued),
    }
    db.dispose()
    return result
