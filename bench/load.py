"""HTTP load with wrk: install it, script it, run it, read its figures.

wrk (Debian's package) drives the load; a Lua script builds the report
requests and prints wrk's own summary and latency distribution as JSON
when it is done. wrk has no fixed-rate mode (that is wrk2, not in
Debian): a paced run has each connection wait a set pause between its
requests, using wrk's `delay()` hook. The CPU wrk used comes from the
kernel's accounting of the child (`wait4`).
"""

import http.client
import json
import os
import shutil
import signal
import subprocess
import threading
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

import psutil

from bench.memory import busy_seconds
from bench.stack import BenchError

MARK = "WRK_JSON "

_LUA = r"""
-- Written by bench/load.py for one run.
local calls = {
%(calls)s
}
local states = {"completed", "snoozed", "completed", "dismissed",
                "completed", "uncompleted"}
local pause = %(pause)d
local n = 0
local offset = 0
-- Each run starts at another place in the list.
math.randomseed(os.time())

function setup(thread)
  thread:set("offset", math.random(0, 1000000))
end

if #calls > 0 then
  request = function()
    n = n + 1
    local call = calls[(n * 31 + offset) %% #calls + 1]
    local body = '{"state": "' .. states[n %% #states + 1] .. '"}'
    return wrk.format("POST", call[1], {
      ["Authorization"] = call[2],
      ["Content-Type"] = "application/json",
    }, body)
  end
end

if pause > 0 then
  delay = function() return pause end
end

function done(summary, latency, requests)
  local e = summary.errors
  local cuts = {}
  for _, q in ipairs({50, 75, 90, 99, 99.9}) do
    cuts[#cuts + 1] = string.format('"%%s": %%d', q, latency:percentile(q))
  end
  io.write(string.format(
    '%(mark)s{"requests": %%d, "duration_us": %%d, ' ..
    '"errors": {"connect": %%d, "read": %%d, "write": %%d, ' ..
    '"status": %%d, "timeout": %%d}, ' ..
    '"latency_us": {"min": %%d, "max": %%d, "mean": %%.1f, %%s}}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write,
    e.status, e.timeout, latency.min, latency.max, latency.mean,
    table.concat(cuts, ", ")))
end
"""


@dataclass
class WrkRun:
    """One wrk run: throughput, latency and what it cost to generate."""

    path: str
    connections: int
    seconds: float
    requests: int
    errors: dict
    latency_us: dict
    cpu_seconds: float  # wrk's own user + system time
    machine_busy: float  # share of all cores busy during the run

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    @property
    def failed(self) -> int:
        return sum(self.errors.values())

    def ms(self, quantile: str) -> float:
        return self.latency_us[quantile] / 1000

    @property
    def cpu_share(self) -> float:
        """wrk's CPU time as a share of the whole machine's."""
        return self.cpu_seconds / (self.seconds * psutil.cpu_count())

    def summary(self) -> dict:
        return {
            "rps": round(self.rps, 1),
            "p50_ms": round(self.ms("50"), 2),
            "p99_ms": round(self.ms("99"), 2),
            "requests": self.requests,
            "errors": self.errors,
            "connections": self.connections,
            "seconds": round(self.seconds, 2),
            "wrk_cpu_share": round(self.cpu_share, 3),
            "machine_busy": round(self.machine_busy, 3),
        }


def call(port: int, method: str, path: str, token: str, body=None):
    """One request to 127.0.0.1, on a connection of its own."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {"Authorization": f"Token {token}"}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    try:
        connection.request(method, path, body=data, headers=headers)
        response = connection.getresponse()
        raw = response.read()
    finally:
        connection.close()
    return response.status, json.loads(raw) if raw else None


def ensure_wrk() -> str:
    """wrk's path; installs Debian's package when running as root."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() != 0:
        raise BenchError("wrk is missing: sudo apt-get install -y wrk")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for argv in (
        ["apt-get", "update", "-qq"],
        ["apt-get", "install", "-y", "-qq", "wrk"],
    ):
        subprocess.run(
            argv, env=env, check=True, stdout=subprocess.DEVNULL, timeout=300
        )
    found = shutil.which("wrk")
    if not found:
        raise BenchError("apt-get installed wrk, yet it is not on PATH")
    return found


def wrk_version(wrk: str) -> str:
    done = subprocess.run(
        [wrk, "--version"], capture_output=True, text=True, check=False
    )
    return (done.stdout or done.stderr).split(" [")[0].strip()


def write_script(folder: Path, name: str, calls=(), pause_ms=0) -> Path:
    """A Lua script: POST to each (path, token) in turn, or plain GETs."""
    lines = ",\n".join(
        f'  {{"{path}", "Token {token}"}}' for path, token in calls
    )
    path = folder / f"{name}.lua"
    path.write_text(_LUA % {"calls": lines, "pause": pause_ms, "mark": MARK})
    return path


def run_wrk(
    wrk: str,
    base_url: str,
    path: str,
    script: Path,
    *,
    seconds: float,
    connections: int,
    threads: int = 1,
) -> WrkRun:
    """Run wrk against 127.0.0.1 for a bounded time; its figures."""
    if not base_url.startswith("http://127.0.0.1:"):
        raise BenchError(f"load goes to 127.0.0.1 only, not {base_url}")
    argv = [
        wrk,
        f"--threads={threads}",
        f"--connections={connections}",
        f"--duration={max(1, round(seconds))}s",
        "--timeout=5s",
        "--latency",
        f"--script={script}",
        base_url + path,
    ]
    before = psutil.cpu_times()
    process = subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        out, cpu_seconds = _finish(process, seconds + 30)
    except BaseException:
        _kill(process)
        with suppress(ChildProcessError):
            os.waitpid(process.pid, 0)
        raise
    after = psutil.cpu_times()
    figures = _figures(out)
    return WrkRun(
        path=path,
        connections=connections,
        seconds=figures["duration_us"] / 1e6,
        requests=figures["requests"],
        errors=figures["errors"],
        latency_us=figures["latency_us"],
        cpu_seconds=cpu_seconds,
        machine_busy=_busy(before, after),
    )


def _finish(process: subprocess.Popen, timeout: float):
    """wrk's output, and its CPU time from the kernel once it exits."""
    killer = threading.Timer(timeout, _kill, [process])
    killer.start()
    try:
        out = process.stdout.read()
        _, status, usage = os.wait4(process.pid, 0)
    finally:
        killer.cancel()
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise BenchError(f"wrk failed ({process.returncode}):\n{out}")
    return out, usage.ru_utime + usage.ru_stime


def _kill(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _figures(out: str) -> dict:
    for line in out.splitlines():
        if line.startswith(MARK):
            return json.loads(line[len(MARK) :])
    raise BenchError(f"wrk printed no summary:\n{out}")


def _busy(before, after) -> float:
    total = sum(
        getattr(after, name) - getattr(before, name) for name in after._fields
    )
    total -= sum(
        getattr(after, name) - getattr(before, name)
        for name in ("guest", "guest_nice")
        if name in after._fields
    )
    return busy_seconds(before, after) / total if total else 0.0
