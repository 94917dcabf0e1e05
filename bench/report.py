"""The results: the machine, the targets met or not, and the table."""

import json
import os
import platform
import re
import sqlite3
from pathlib import Path

import psutil

# (section, key, comparison, target, what)
TARGETS = (
    ("ingest", "ratio", ">=", 0.6, "reports/s over /healthz req/s"),
    ("ingest", "half_peak.p99_ms", "<", 10.0, "p99 at half the peak, ms"),
    ("pipeline", "ratio", ">=", 1.0, "applied/s over accepted/s"),
    ("pipeline", "lag_p99_s", "<", 2.0, "lag 202 -> visible, p99, s"),
    ("rank", "p99_ms", "<=", 1.0, "live rank read p99, ms"),
    ("rank", "speedup", ">=", 1000.0, "reference p50 / live p50"),
    ("recompute", "speedup", ">=", 10.0, "per-user loop / set-based"),
)


def dig(results: dict, section: str, key: str):
    value = results.get(section, {})
    for part in key.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def machine(wrk_version: str, redis_version: str, database: str) -> dict:
    model = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        found = re.search(r"model name\s*:\s*(.*)", cpuinfo.read_text())
        model = found.group(1).strip() if found else ""
    return {
        "cpu": model or platform.processor(),
        "cores": psutil.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "system": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "redis": redis_version,
        "load_generator": wrk_version,
        "database": database,
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def checks(results: dict) -> list[dict]:
    found = []
    for section, key, op, target, what in TARGETS:
        value = dig(results, section, key)
        if value is None:
            ok = None
        elif op == ">=":
            ok = value >= target
        elif op == "<=":
            ok = value <= target
        else:
            ok = value < target
        found.append(
            {
                "figure": f"{section}.{key}",
                "what": what,
                "value": value,
                "target": f"{op} {target:g}",
                "met": ok,
            }
        )
    return found


def write(results: dict, path: Path) -> None:
    path.write_text(json.dumps(results, indent=2, default=str) + "\n")


def _mark(ok) -> str:
    return {True: "ok", False: "MISSED", None: "-"}[ok]


def table(results: dict) -> str:
    """The figures as a Markdown table, targets and marks included."""
    rows = [("figure", "measured", "target", "")]
    for check in results.get("checks", []):
        rows.append(
            (
                check["what"],
                _fmt(check["value"]),
                check["target"],
                _mark(check["met"]),
            )
        )
    rows += _details(results)
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = []
    for n, row in enumerate(rows):
        cells = [
            cell.ljust(width) for cell, width in zip(row, widths, strict=True)
        ]
        lines.append("| " + " | ".join(cells) + " |")
        if n == 0:
            lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.1f}"
    return "n/a" if value is None else str(value)


def _details(results: dict) -> list[tuple]:
    """Context for the checked figures: the rates and sizes behind them."""
    rows = []
    ingest = results.get("ingest", {})
    if ingest:
        half = ingest.get("half_peak", {})
        rows += [
            ("ingest: reports/s at saturation", _fmt(ingest["rps"])),
            ("ingest: /healthz req/s, same run", _fmt(ingest["baseline_rps"])),
            (
                "ingest: p50 / p99 at saturation, ms",
                f"{ingest['p50_ms']:.2f} / {ingest['p99_ms']:.2f}",
            ),
            (
                "ingest: half-peak rate sent, req/s",
                _fmt(half.get("rps")),
            ),
        ]
        cpu = ingest.get("cpu_ms_per_request", {})
        if "ratio" in cpu:
            rows += [
                (
                    "ingest: gunicorn CPU per /healthz, per report, ms",
                    f"{cpu['healthz']['gunicorn_worker']:.2f}, "
                    f"{cpu['reports']['gunicorn_worker']:.2f}",
                ),
                (
                    "ingest: service CPU per /healthz over per report",
                    _fmt(cpu["ratio"]),
                ),
            ]
    pipeline = results.get("pipeline", {})
    if pipeline:
        rows += [
            (
                "pipeline: offered / accepted / applied per s",
                f"{pipeline['target_rps']:.0f} / {pipeline['ingest_rps']:.0f}"
                f" / {pipeline['applied_rps']:.0f}",
            ),
            (
                "pipeline: steady queued / applied per s",
                f"{pipeline['steady_queued_rps']:.0f} / "
                f"{pipeline['steady_applied_rps']:.0f}",
            ),
            (
                "pipeline: backlog max / at the end of the load",
                f"{pipeline['backlog_max']} / {pipeline['backlog_end']}",
            ),
            ("pipeline: lag p50, s", _fmt(pipeline["lag_p50_s"])),
            (
                "pipeline: reports accepted but missing",
                str(pipeline["after"]["missing"]),
            ),
        ]
    for size, entry in results.get("rank", {}).get("sizes", {}).items():
        rows.append(
            (
                f"rank at {int(size):,}: live p50/p99, reference p50, ms",
                f"{entry['live']['p50_ms']:.3f} / "
                f"{entry['live']['p99_ms']:.3f}, "
                f"{entry['reference']['p50_ms']:.1f}",
            )
        )
    recompute = results.get("recompute", {})
    if recompute:
        rows.append(
            (
                f"recompute {recompute['users']:,} users: set-based / "
                "loop (scaled), s",
                f"{recompute['set_based_s']:.1f} / "
                f"{recompute['loop_scaled_s']:.1f}",
            )
        )
    memory = results.get("memory", {})
    for key, value in memory.items():
        rows.append((f"memory: {key}", _fmt(value)))
    load = results.get("load_generator", {})
    if load:
        rows += [
            (
                "load generator: share of the machine at saturation",
                f"{load['cpu_share_of_machine']:.1%}",
            ),
            (
                "other processes: share of the machine during ingest",
                f"{load['others_share_of_machine']:.0%}",
            ),
        ]
    return [(what, value, "", "") for what, value in rows]
