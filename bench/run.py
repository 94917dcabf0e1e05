"""`make bench`: the service under load, and its parts on large data.

1. Starts redis-server, a fresh database, gunicorn (4 sync workers) and
   a Celery worker (2 processes, beat embedded) on free ports under a
   temporary folder, and makes 1000 users with a token and an action.
2. ingest: reports per second against /healthz, side by side; latency
   at half the peak (bench/ingest.py).
3. pipeline: 60 s of reports at the peak rate; applied per second, the
   backlog, the lag until visible (bench/pipeline.py).
4. With the service stopped: rank reads at 10k, 100k and 1M ranked
   users (bench/rank.py), then the recompute of 100k users with 60 days
   of history (bench/recompute.py).

Memory is sampled throughout 2 and 3 (bench/memory.py). Prints a table
and writes bench/results.json. Everything started is stopped at the
end, Ctrl-C included. BENCH_DATABASE_URL (a PostgreSQL URL) runs on
fresh databases made beside it; BENCH_QUICK=1 runs small and short, to
try the harness (its figures do not count).
"""

import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

from redis import Redis

from bench import rank, recompute, report
from bench.databases import Databases
from bench.ingest import CONNECTIONS, measure_peak
from bench.load import ensure_wrk, wrk_version
from bench.memory import Sampler
from bench.pipeline import sustain
from bench.seed import seed_members
from bench.stack import (
    CELERY_WORKERS,
    WEB_WORKERS,
    BenchError,
    Processes,
    start_stack,
)

RESULTS = Path(__file__).with_name("results.json")
FULL = {
    "users": 1000,
    "probes": 4,
    "peak_seconds": 5,
    "rounds": 2,
    "half_seconds": 15,
    "sustain_seconds": 60,
    "rank_sizes": rank.SIZES,
    "recompute_users": 100_000,
    "loop_sample": 2000,
}
QUICK = {
    "users": 200,
    "probes": 2,
    "peak_seconds": 3,
    "rounds": 1,
    "half_seconds": 4,
    "sustain_seconds": 10,
    "rank_sizes": (1000, 10_000),
    "recompute_users": 5000,
    "loop_sample": 500,
}


class Say:
    def __init__(self):
        self.started = time.monotonic()

    def __call__(self, text: str) -> None:
        elapsed = time.monotonic() - self.started
        print(f"[{elapsed:6.1f}s] {text}", file=sys.stderr, flush=True)


def scan_logs(folder: Path) -> dict:
    """Answers of 500 and up, and errors the processes logged."""
    found = {"http_5xx": 0, "web_errors": 0, "worker_errors": 0}
    web = folder / "gunicorn.log"
    if web.exists():
        for line in web.read_text(errors="replace").splitlines():
            if '"logger": "gunicorn.access"' in line and '"status": 5' in line:
                found["http_5xx"] += 1
            elif '"level": "ERROR"' in line or "[CRITICAL]" in line:
                found["web_errors"] += 1
    worker = folder / "celery.log"
    if worker.exists():
        text = worker.read_text(errors="replace")
        found["worker_errors"] = text.count('"level": "ERROR"')
    return found


def serve_and_load(stack, wrk, folder, size, say) -> dict:
    """Steps 1 to 3."""
    members = seed_members(stack.database_url, size["users"], "load")
    probes = seed_members(
        stack.database_url, size["probes"], "probe", zones=("UTC",)
    )
    stack.start_service()
    say(
        f"service up on port {stack.port}: gunicorn {WEB_WORKERS} workers, "
        f"Celery {CELERY_WORKERS} processes"
    )
    found = {}
    with Sampler(stack) as sampler:
        say("ingest: /healthz and reports in turns, workers paused")
        ingest = measure_peak(
            stack,
            wrk,
            folder,
            members,
            size["peak_seconds"],
            size["half_seconds"],
            say,
            size["rounds"],
        )
        say(f"pipeline: {size['sustain_seconds']} s at {ingest.rps:.0f}/s")
        pipeline = sustain(
            stack,
            wrk,
            folder,
            members,
            probes,
            ingest.rps,
            size["sustain_seconds"],
            say,
        )
    found["ingest"] = ingest.summary()
    found["pipeline"] = pipeline.summary()
    found["memory"] = sampler.summary()
    saturated = ingest.reports
    found["load_generator"] = {
        "tool": f"{wrk_version(wrk)}, 1 thread, {CONNECTIONS} connections",
        "cpu_share_of_machine": max(r.cpu_share for r in saturated),
        "cpu_share_of_one_core": max(
            r.cpu_seconds / r.seconds for r in saturated
        ),
        "others_share_of_machine": ingest.cpu.get("other", 0.0),
        "paced_by": "wrk delay() per connection, closed loop (no wrk2)",
    }
    return found


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def main() -> int:
    # Even when started with SIGINT ignored (in the background), any of
    # these stops the run through the `finally` that stops the service.
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _interrupt)
    say = Say()
    quick = os.environ.get("BENCH_QUICK") == "1"
    size = QUICK if quick else FULL
    base_url = os.environ.get("BENCH_DATABASE_URL", "")
    wrk = ensure_wrk()
    folder = Path(tempfile.mkdtemp(prefix="dpbench-", dir="/tmp"))
    processes = Processes(folder)
    databases = Databases(folder, base_url)
    results = {"quick": quick, "config": {**size, "web": WEB_WORKERS}}
    ok = False
    try:
        stack = start_stack(processes, databases)
        version = stack.redis.info("server")["redis_version"]
        results["machine"] = report.machine(
            wrk_version(wrk), version, databases.kind
        )
        results.update(serve_and_load(stack, wrk, folder, size, say))
        results["service_logs"] = scan_logs(folder)
        stack.stop_service()

        # A rewrite of the append-only file must not run beside the reads.
        stack.redis.config_set("appendonly", "no")
        sock = str(folder / "redis.sock")
        say("rank: live reads against the reference")
        results["rank"] = rank.run(
            databases.fresh("rank"),
            Redis(unix_socket_path=sock, db=1, socket_timeout=60),
            say,
            size["rank_sizes"],
        )
        top = results["rank"]["sizes"][str(size["rank_sizes"][-1])]
        results["memory"]["redis_bytes_per_ranked_user"] = top["memory"][
            "bytes_per_user"
        ]
        say(f"recompute: {size['recompute_users']:,} users, 60 days")
        results["recompute"] = recompute.run(
            databases.fresh("recompute"),
            Redis(unix_socket_path=sock, db=2, socket_timeout=60),
            size["recompute_users"],
            size["loop_sample"],
            say,
        )
        ok = True
    except BenchError as exc:
        say(f"stopped: {exc}")
        return 1
    finally:
        results["machine"] = results.get("machine", {})
        results["machine"]["load_average_at_end"] = [
            round(x, 2) for x in os.getloadavg()
        ]
        results["seconds"] = round(time.monotonic() - say.started, 1)
        processes.stop_all()
        databases.drop_all()
        if ok:
            shutil.rmtree(folder, ignore_errors=True)
        else:
            say(f"logs kept in {folder}")
    results["checks"] = report.checks(results)
    report.write(results, RESULTS)
    print(report.table(results))
    load = results.get("load_generator", {})
    if load:
        print(f"\nload: {load['tool']}; paced by {load['paced_by']}")
    print(f"\nwritten: {RESULTS} ({results['seconds']:.0f} s in all)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
