"""Ingest: how fast the API takes action reports, next to /healthz.

1. With the Celery workers paused (SIGSTOP), so that both see the same
   machine, wrk drives /healthz and the report endpoint in turns,
   A B B A A B B A, for the same time and with the same connections;
   the ratio is reports per second over /healthz requests per second,
   each over all its runs.
2. Still with the workers paused, wrk sends reports at half that peak,
   paced: the API's latency at half its capacity. (With the workers
   applying at the same time, the two share the cores; the pipeline
   section measures that.)
3. The workers resume and drain what was queued: the time that takes is
   their capacity with nothing coming in.
"""

import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.load import WrkRun, call, run_wrk, write_script
from bench.memory import CpuMeter
from bench.seed import Member
from bench.stack import BenchError, Stack
from core.queue import backlog

CONNECTIONS = 8  # two per gunicorn worker: none ever waits for work


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
    cpu_ms: dict = field(default_factory=dict)  # per request, by role
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

    def _cpu_ms(self) -> dict:
        """CPU milliseconds per request by role, and the ratio of the
        service's (gunicorn and Redis): steadier than req/s on a busy
        machine, since another process's work does not count in it."""
        found = {}
        for kind, runs in self.cpu_ms.items():
            found[kind] = {
                role: round(sum(r[role] for r in runs) / len(runs), 3)
                for role in runs[0]
            }
        if len(found) == 2:
            found["ratio"] = round(
                _service(found["healthz"]) / _service(found["reports"]), 3
            )
        return found

    def summary(self) -> dict:
        # Of the report runs: the mean median, the worst p99.
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
            "cpu_ms_per_request": self._cpu_ms(),
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


def _service(spent: dict) -> float:
    return spent["gunicorn_worker"] + spent["redis"]


def report_calls(members: list[Member]) -> list[tuple[str, str]]:
    return [(m.report_path, m.token) for m in members]


def measure_peak(
    stack: Stack,
    wrk: str,
    folder: Path,
    members: list[Member],
    seconds: float,
    half_seconds: float,
    say,
    rounds: int = 2,
) -> Ingest:
    """Steps 1 to 3."""
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
        spent = {
            role: meter.seconds[role] * 1000 / max(run.requests, 1)
            for role in ("gunicorn_worker", "redis", "wrk")
        }
        result.cpu_ms.setdefault(kind, []).append(spent)
        say(
            f"  {kind:8} {run.rps:7.1f} req/s  p50 {run.ms('50'):6.2f} ms"
            f"  p99 {run.ms('99'):6.2f} ms  errors {run.failed}"
            f"  gunicorn {spent['gunicorn_worker']:.2f} ms CPU/req"
            f"  wrk {run.cpu_share:.0%}, others {shares['other']:.0%}"
            " of the machine"
        )
        if kind == "reports":
            result.cpu = shares
        return run

    # Every user reports once, so that who they are and what they own
    # are cached, as for users already active today; then every worker
    # warms up (imports, connections).
    for member in members:
        status, _ = call(
            stack.port, "POST", member.report_path, member.token, {}
        )
        if status != 202:
            raise BenchError(f"a report was answered {status}")
    run_wrk(wrk, base_url, members[0].report_path, reports, seconds=2,
            connections=CONNECTIONS)  # fmt: skip
    _wait_drained(stack, 60)

    stack.pause_workers()
    try:
        for kind in ("healthz", "reports", "reports", "healthz") * rounds:
            run = one(kind)
            (result.baseline if kind == "healthz" else result.reports).append(
                run
            )
        say(f"  half the peak, {result.rps / 2:.0f}/s, paced")
        result.half = paced(
            stack, wrk, folder, members, result.rps / 2, half_seconds, "half"
        )
        half = result.half.run
        say(
            f"  {half.rps:7.1f} req/s  p50 {half.ms('50'):6.2f} ms  p99 "
            f"{half.ms('99'):6.2f} ms  errors {half.failed}  "
            f"({result.half.connections} connections)"
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
    # The connections of the saturation run, each pausing between its
    # requests: the same clients, sending half as often.
    connections = CONNECTIONS
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
