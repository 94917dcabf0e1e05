"""Ingest: how fast the API takes action reports, next to /healthz.

1. With the Celery workers paused (SIGSTOP), so that both see the same
   quiet machine, wrk drives /healthz and the report endpoint in turns,
   A B B A, for the same time and with the same connections; the ratio
   is reports per second over /healthz requests per second.
2. The workers resume and drain what was queued: the time that takes is
   their capacity with nothing coming in.
3. wrk sends reports at half the peak rate, paced, with the workers
   running, for the latency at a load the service should carry easily.
"""

import math
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.load import WrkRun, run_wrk, write_script
from bench.memory import CpuMeter
from bench.seed import Member
from bench.stack import Stack
from core.queue import backlog

CONNECTIONS = 8  # two per gunicorn worker: none ever waits for work
CYCLE_MS = 20.0  # a paced connection sends about every 20 ms


@dataclass
class Paced:
    target_rps: float
    connections: int
    pause_ms: int
    run: WrkRun


@dataclass
class Ingest:
    baseline: list[WrkRun] = field(default_factory=list)
    reports: list[WrkRun] = field(default_factory=list)
    cpu: dict = field(default_factory=dict)
    drained: int = 0
    drain_seconds: float = 0.0
    half: Paced | None = None

    @staticmethod
    def _rate(runs: list[WrkRun]) -> float:
        return sum(r.requests for r in runs) / sum(r.seconds for r in runs)

    @property
    def rps(self) -> float:
        return self._rate(self.reports)

    @property
    def baseline_rps(self) -> float:
        return self._rate(self.baseline)

    def summary(self) -> dict:
        # Of the two report runs: the mean median, the worse p99.
        middle = sum(r.ms("50") for r in self.reports) / len(self.reports)
        found = {
            "rps": round(self.rps, 1),
            "p50_ms": round(middle, 2),
            "p99_ms": round(max(r.ms("99") for r in self.reports), 2),
            "baseline_rps": round(self.baseline_rps, 1),
            "ratio": round(self.rps / self.baseline_rps, 3),
            "connections": CONNECTIONS,
            "runs": {
                "baseline": [r.summary() for r in self.baseline],
                "reports": [r.summary() for r in self.reports],
            },
            "cpu_share_during_reports": self.cpu,
            "drain_after_peak": {
                "reports": self.drained,
                "seconds": round(self.drain_seconds, 1),
                "applied_per_s": round(
                    self.drained / max(self.drain_seconds, 1e-9), 1
                ),
            },
        }
        if self.half:
            run = self.half.run
            found["half_peak"] = {
                "target_rps": round(self.half.target_rps, 1),
                "rps": round(run.rps, 1),
                "p50_ms": round(run.ms("50"), 2),
                "p99_ms": round(run.ms("99"), 2),
                "p99_9_ms": round(run.ms("99.9"), 2),
                "connections": self.half.connections,
                "pause_ms": self.half.pause_ms,
                "errors": run.errors,
                "wrk_cpu_share": round(run.cpu_share, 3),
            }
        return found


def report_calls(members: list[Member]) -> list[tuple[str, str]]:
    return [(m.report_path, m.token) for m in members]


def measure_peak(
    stack: Stack,
    wrk: str,
    folder: Path,
    members: list[Member],
    seconds: float,
    say,
) -> Ingest:
    """Steps 1 and 2: the peak, side by side with /healthz, then drain."""
    base_url = f"http://127.0.0.1:{stack.port}"
    health = write_script(folder, "healthz")
    reports = write_script(folder, "reports", report_calls(members))
    result = Ingest()

    def one(kind: str) -> WrkRun:
        path, script = (
            ("/healthz", health) if kind == "healthz" else ("", reports)
        )
        meter = CpuMeter(stack)
        meter.start()
        run = run_wrk(
            wrk,
            base_url,
            path or members[0].report_path,
            script,
            seconds=seconds,
            connections=CONNECTIONS,
        )
        shares = meter.stop(run.cpu_seconds)
        say(
            f"  {kind:8} {run.rps:8.1f} req/s  p50 {run.ms('50'):6.2f} ms"
            f"  p99 {run.ms('99'):6.2f} ms  errors {run.failed}"
            f"  wrk cpu {run.cpu_share:.0%} of the machine"
        )
        if kind == "reports":
            result.cpu = shares
        return run

    # Warm up every worker: imports, connections, the token cache.
    run_wrk(wrk, base_url, members[0].report_path, reports, seconds=2,
            connections=CONNECTIONS)  # fmt: skip
    _wait_drained(stack, 60)

    stack.pause_workers()
    try:
        for kind in ("healthz", "reports", "reports", "healthz"):
            run = one(kind)
            (result.baseline if kind == "healthz" else result.reports).append(
                run
            )
    finally:
        stack.resume_workers()

    queued = backlog(stack.redis)
    started = time.monotonic()
    left = _wait_drained(stack, 180)
    result.drained = queued - left
    result.drain_seconds = time.monotonic() - started
    say(
        f"  drained {result.drained} queued reports in "
        f"{result.drain_seconds:.1f} s"
        + (f" ({left} still queued)" if left else "")
    )
    return result


def paced(
    stack: Stack,
    wrk: str,
    folder: Path,
    members: list[Member],
    rate: float,
    seconds: float,
    name: str,
) -> Paced:
    """Reports at about `rate` per second: a short run finds the pause."""
    base_url = f"http://127.0.0.1:{stack.port}"
    connections = max(2, math.ceil(rate * CYCLE_MS / 1000))
    pause = max(0.0, connections * 1000 / rate)
    path = members[0].report_path
    calls = report_calls(members)
    for trial in (True, False):
        script = write_script(folder, name, calls, round(pause))
        run = run_wrk(
            wrk,
            base_url,
            path,
            script,
            seconds=3 if trial else seconds,
            connections=connections,
        )
        if trial:
            # rate = connections / (pause + time per request)
            per_request = connections * 1000 / max(run.rps, 1) - pause
            pause = max(0.0, connections * 1000 / rate - per_request)
    return Paced(rate, connections, round(pause), run)


def _wait_drained(stack: Stack, timeout: float) -> int:
    """Wait until the stream is empty or time is up; what is left."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        stack.check_alive()
        left = backlog(stack.redis)
        if left == 0:
            return 0
        time.sleep(0.2)
    return backlog(stack.redis)
