"""`make demo`: a population of users drives the running service.

With `make run` going in another terminal (same environment), this:

1. creates a catalogue and users in zones all around the world, with
   the `dailyprogress` CLI;
2. has each user select goals and actions, make custom actions, check
   in and report over HTTP, as the mobile app does (SPEC section 5);
3. imports older history with `dailyprogress import-reports`;
4. waits for the workers to drain the queue, then runs
   `dailyprogress recompute`;
5. works out on its own what every user must see (bench/expected.py)
   and compares it with the API, then again after `rebuild-cache`.

Exits 0 only when nothing differs. DEMO_USERS changes the population
size (300); the seed is fixed, so runs differ only by the clock.
"""

import os
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

from redis import Redis
from redis.exceptions import RedisError

from bench.client import Api, DemoError, ready, run_tool
from bench.compare import diff, observe, others_ranked
from bench.expected import assign_ranks, expect
from bench.ledger import local_day
from bench.population import (
    burst_plan,
    check_in,
    choose,
    create_catalogue,
    create_users,
    plan,
    usable_zones,
)
from bench.traffic import (
    history,
    interleave,
    record_import,
    send_reports,
    write_jsonl,
)
from core.queue import DEAD, backlog
from core.settings import Settings

SEED = 20160518
THREADS = 8
STREAK_DAYS = 30
# No user lives in a zone whose local midnight falls within this much of
# the start: their "today" holds still for the whole run.
RUN_LIMIT = timedelta(minutes=12)
DRAIN_LIMIT = 300.0
SHOWN = 8


class Demo:
    def __init__(self, settings: Settings, users: int):
        self.settings = settings
        self.users = users
        self.api = Api(settings.port)
        self.broker = Redis.from_url(settings.broker_url)
        self.redis = Redis.from_url(settings.redis_url)
        self.run_id = f"{int(time.time() * 1000):x}"
        self.started = datetime.now(UTC)
        self.clock = time.monotonic()
        self.counts: Counter = Counter()

    def say(self, text: str) -> None:
        elapsed = time.monotonic() - self.clock
        print(f"[{elapsed:6.1f}s] {text}", file=sys.stderr, flush=True)

    def gather(self, results) -> None:
        for counts in results:
            self.counts.update(counts)

    def main(self) -> int:
        # 1. The population, in zones whose day holds still for the run.
        zones, skipped = usable_zones(
            self.started - timedelta(minutes=2), self.started + RUN_LIMIT
        )
        members = plan(self.users, SEED, self.run_id, zones)
        self.zones, self.skipped = zones, skipped
        self.say(f"creating a catalogue and {len(members)} users (CLI)")
        self.catalogue = catalogue = create_catalogue(self.run_id)
        create_users(members)
        self.same_service(members[0])

        # 2. The app's traffic; a user's requests go one after another,
        # except the check-ins of a burst, sent at the same moment.
        with ThreadPoolExecutor(THREADS) as pool:
            self.say("selecting goals and actions, checking in (HTTP)")
            self.gather(
                pool.map(
                    lambda m: choose(self.api, m, catalogue, SEED), members
                )
            )
            burst = burst_plan(members, SEED)
            self.counts["burst check-ins"] = sum(
                pool.map(lambda job: check_in(self.api, *job), burst)
            )
            self.say("sending live reports (HTTP)")
            dead_before = self.broker.xlen(DEAD)
            sent_from = time.monotonic()
            self.gather(
                pool.map(lambda m: send_reports(self.api, m, SEED), members)
            )
            self.live_seconds = time.monotonic() - sent_from

        # 3. History, imported twice: the second time changes nothing.
        lines = interleave(
            [history(m, SEED, datetime.now(UTC)) for m in members], SEED
        )
        by_id = {m.id: m for m in members}
        with tempfile.TemporaryDirectory(prefix="dp-demo-") as folder:
            path = Path(folder) / "history.jsonl"
            write_jsonl(path, lines)
            for _ in range(2):
                self.say(f"importing {len(lines)} past reports (CLI)")
                queued = run_tool("import-reports", str(path))["queued"]
                if queued != len(lines):
                    raise DemoError(f"{queued} queued of {len(lines)} lines")
                record_import(by_id, lines)
        self.counts["imported"] = len(lines)

        # 4. Drain, then recompute so every today row is current.
        self.say("waiting for the workers to drain the queue")
        self.drain_seconds = self.wait_for_drain()
        self.applied_seconds = time.monotonic() - sent_from
        self.buried = self.broker.xlen(DEAD) - dead_before
        self.say(f"drained {self.drain_seconds:.1f}s after the last import")
        began = time.monotonic()
        self.recomputed = run_tool("recompute")["users"]
        self.recompute_seconds = time.monotonic() - began

        # 5. Compare, then again once Redis is rebuilt from SQL.
        self.say("comparing every user with the model")
        first = self.compare(members)
        self.say("rebuilding the Redis caches (CLI), comparing again")
        run_tool("rebuild-cache")
        second = self.compare(members)
        return self.summary(members, first, second)

    def same_service(self, member) -> None:
        """The CLI and the service must share a database."""
        answer = self.api.call("GET", "/api/users/me/", member.token)
        if answer.status != 200:
            raise DemoError(
                f"the service does not know the user the CLI just made "
                f"(HTTP {answer.status}): run `make demo` with the same "
                "DATABASE_URL and REDIS_URL as `make run`"
            )

    def wait_for_drain(self) -> float:
        began = time.monotonic()
        while backlog(self.broker) > 0:
            if time.monotonic() - began > DRAIN_LIMIT:
                raise DemoError(
                    f"the queue still holds {backlog(self.broker)} reports "
                    f"after {DRAIN_LIMIT:.0f}s: are the workers running?"
                )
            time.sleep(0.1)
        return time.monotonic() - began

    def compare(self, members) -> dict:
        now = datetime.now(UTC)
        expectations = [
            expect(m, local_day(now, m.zone), STREAK_DAYS) for m in members
        ]
        others = others_ranked(self.redis, {m.id for m in members})
        assign_ranks(expectations, others, self.settings.rank_floor)
        # A user whose day turned since the start (a run far too slow)
        # would be compared with a day the model did not plan for.
        held = [
            e
            for e in expectations
            if e.today == local_day(self.started, e.member.zone)
        ]
        with ThreadPoolExecutor(THREADS) as pool:
            seen = list(
                pool.map(
                    lambda e: observe(self.api, e.member.token, STREAK_DAYS),
                    held,
                )
            )
        found = [
            line
            for e, s in zip(held, seen, strict=True)
            for line in diff(e, s)
        ]
        return {
            "users": len(held),
            "rows": sum(len(e.rows) for e in held),
            "rolled": len(expectations) - len(held),
            "others": len(others),
            "ranked": sum(e.ranked for e in expectations),
            "mismatches": found,
        }

    def summary(self, members, first: dict, second: dict) -> int:
        c, api, live = self.counts, self.api, self.counts["reports"]
        lines = [
            f"Daily Progress demo: run {self.run_id}, seed {SEED}, "
            f"service on 127.0.0.1:{self.settings.port}",
            f"users         {len(members)} in {len(self.zones)} zones; "
            + ", ".join(
                f"{n} {p}"
                for p, n in Counter(m.profile for m in members).most_common()
            ),
        ]
        if self.skipped:
            lines.append(
                "              left out (local midnight within "
                f"{RUN_LIMIT}): {', '.join(self.skipped)}"
            )
        lines += [
            f"catalogue     {len(self.catalogue.goals)} goals, "
            f"{len(self.catalogue.actions)} actions",
            f"selections    {c['goals']} goals, {c['actions']} actions, "
            f"{c['custom actions']} custom actions; {c['removed']} removed "
            "with reports still queued",
            f"check-ins     {c['check-ins'] + c['burst check-ins']} "
            f"({c['burst check-ins']} sent in bursts, several goals at once)",
            f"reports       {live} live in {self.live_seconds:.1f}s, "
            f"{c['imported']} imported twice (8 to 90 days back)",
            f"              live: now {c['now']}, late {c['late']}, near a "
            f"local midnight {c['midnight']}, near the 7-day limit "
            f"{c['edge']}, ahead of the clock {c['ahead']}, repeated "
            f"{c['repeat']}, tied {c['tie']}, out-of-order pairs "
            f"{c['reorder']}",
            f"HTTP          {api.requests} requests, "
            f"{len(api.problems)} unexpected answers",
            f"drain         queue empty {self.drain_seconds:.1f}s after the "
            f"last import; {self.applied_seconds:.1f}s from the first live "
            f"report; {self.buried} reports buried",
            f"recompute     {self.recompute_seconds:.1f}s, "
            f"{self.recomputed} users",
            f"ranks         {first['ranked']} ranked users of the demo, "
            f"{first['others']} ranked users from elsewhere",
        ]
        for label, result in (("compared", first), ("after rebuild", second)):
            lines.append(
                f"{label:<14}{result['users']} users, {result['rows']} rows: "
                f"{len(result['mismatches'])} mismatches"
                + (
                    f" ({result['rolled']} users skipped: their day turned)"
                    if result["rolled"]
                    else ""
                )
            )
            lines += [f"  - {m}" for m in result["mismatches"][:SHOWN]]
        lines += [f"  ! {p}" for p in api.problems[:SHOWN]]
        failed = (
            first["mismatches"]
            or second["mismatches"]
            or api.problems
            or self.buried
        )
        lines.append("result        " + ("FAILED" if failed else "OK"))
        print("\n".join(lines))
        return 1 if failed else 0


def main() -> int:
    settings = Settings.from_env()
    ok, said = ready(settings.port)
    if not ok:
        print(
            f"The service is not ready on http://127.0.0.1:{settings.port}/"
            f"readyz ({said}).\nStart it first, in another terminal and with"
            " the same environment: make run",
            file=sys.stderr,
        )
        return 1
    try:
        users = int(os.environ.get("DEMO_USERS") or 300)
        return Demo(settings, users).main()
    except (DemoError, RedisError) as exc:
        print(f"demo stopped: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
