"""Reading each user's progress back over HTTP and holding it against
the model, field by field."""

import math
import time
from dataclasses import dataclass

from redis import Redis

from bench.client import Answer, Api
from bench.expected import DAY_NAMES, REPORT_COUNTERS, WINDOWS, Expectation
from core.ranks import RANK, UNTIL


@dataclass
class Seen:
    rows: list[dict]
    count: int | None
    latest: Answer
    streaks: Answer
    me: Answer


def observe(api: Api, token: str, days: int) -> Seen:
    """Every page of the user's rows, the latest row, the streaks."""
    rows, count, path = [], None, "/api/users/progress/"
    while path:
        answer = api.call("GET", path, token)
        if not api.expect(answer, {200}, f"GET {path}"):
            break
        rows += answer.data["results"]
        count, path = answer.data["count"], answer.data["next"]
    return Seen(
        rows=rows,
        count=count,
        latest=api.call("GET", "/api/users/progress/latest/", token),
        streaks=api.call(
            "GET", f"/api/users/progress/streaks/?days={days}", token
        ),
        me=api.call("GET", "/api/users/me/", token),
    )


def others_ranked(redis: Redis, ours: set[int]) -> list[float]:
    """15-day engagement of the ranked users outside the population.

    The API shows nobody else's numbers, so they are read from the rank
    set, leaving out entries past their end (the service drops those
    when it reads).
    """
    now = time.time()
    until = {
        int(user): score
        for user, score in redis.zrange(UNTIL, 0, -1, withscores=True)
    }
    return [
        score
        for user, score in redis.zrange(RANK, 0, -1, withscores=True)
        if int(user) not in ours and until.get(int(user), 0) > now
    ]


def _same(expected, got) -> bool:
    if isinstance(expected, float):
        return (
            isinstance(got, int | float)
            and not isinstance(got, bool)
            and math.isclose(expected, got, abs_tol=1e-9)
        )
    return expected == got and type(expected) is type(got)


class Diff:
    """Mismatches of one user, each described field by field."""

    def __init__(self, e: Expectation):
        self.e = e
        self.found: list[str] = []

    def check(self, where: str, field: str, expected, got) -> None:
        if not _same(expected, got):
            self.bad(where, field, expected, got)

    def bad(self, where, field, expected, got) -> None:
        m = self.e.member
        self.found.append(
            f"user {m.id} ({m.zone}, {m.profile}) {where}: {field} "
            f"expected {expected!r}, got {got!r}"
        )

    def row(self, where: str, got: dict) -> None:
        e, m = self.e, self.e.member
        day = got.get("date")
        row = next(
            (r for d, r in e.rows.items() if d.isoformat() == day), None
        )
        if row is None:
            return  # the callers say which day is missing or extra
        self.check(where, "user", m.id, got.get("user"))
        self.check(
            where, "object_type", "dailyprogress", got.get("object_type")
        )
        for name in REPORT_COUNTERS:
            self.check(where, name, row.counters[name], got.get(name))
        totals = (got.get("actions_total"), got.get("customactions_total"))
        if row.totals is not None and totals not in row.totals:
            self.bad(
                where,
                "(actions_total, customactions_total)",
                " or ".join(map(str, sorted(row.totals))),
                totals,
            )
        self.check(
            where, "goal_status", row.goal_status, got.get("goal_status")
        )
        self.check(
            where,
            "checkin_streak",
            row.checkin_streak,
            got.get("checkin_streak"),
        )
        if day == e.today.isoformat():
            for n in WINDOWS:
                name = f"engagement_{n}_days"
                self.check(where, name, e.engagement[n], got.get(name))
            self.check(
                where, "engagement_rank", e.rank, got.get("engagement_rank")
            )

    def rows(self, seen: Seen) -> None:
        dates = [row.get("date") for row in seen.rows]
        wanted = {day.isoformat() for day in self.e.rows}
        if dates != sorted(set(dates), reverse=True):
            self.bad(
                "progress list", "dates", "one a day, newest first", dates
            )
        for day in sorted(wanted - set(dates)):
            self.bad(f"row {day}", "row", "present", "missing")
        for day in sorted(set(dates) - wanted):
            self.bad(f"row {day}", "row", "absent", "present")
        self.check("progress list", "count", len(wanted), seen.count)
        for row in seen.rows:
            self.row(f"row {row.get('date')}", row)

    def latest(self, seen: Seen) -> None:
        if not self.e.rows:
            self.check("latest", "status", 404, seen.latest.status)
            return
        self.check("latest", "status", 200, seen.latest.status)
        if seen.latest.status == 200:
            got = seen.latest.data
            today = self.e.today.isoformat()
            self.check("latest", "date", today, got.get("date"))
            self.row("latest", got)

    def streaks(self, seen: Seen) -> None:
        answer, where = seen.streaks, "streaks"
        self.check(where, "status", 200, answer.status)
        if answer.status != 200:
            return
        got = answer.data
        self.check(where, "count", len(self.e.streak), got.get("count"))
        self.check(
            where,
            "current_streak",
            self.e.current_streak,
            got.get("current_streak"),
        )
        wanted = [
            {
                "date": day.isoformat(),
                "day": DAY_NAMES[day.weekday()],
                "count": count,
            }
            for day, count in self.e.streak
        ]
        if got.get("results") != wanted:
            days = {r["date"]: r for r in got.get("results") or []}
            wrong = [w for w in wanted if days.get(w["date"]) != w]
            self.bad(
                where,
                "results",
                wrong[:3],
                [days.get(w["date"]) for w in wrong[:3]],
            )

    def me(self, seen: Seen) -> None:
        m = self.e.member
        self.check("me", "status", 200, seen.me.status)
        if seen.me.status == 200:
            self.check("me", "timezone", m.zone, seen.me.data.get("timezone"))
            self.check("me", "id", m.id, seen.me.data.get("id"))


def diff(e: Expectation, seen: Seen) -> list[str]:
    found = Diff(e)
    found.rows(seen)
    found.latest(seen)
    found.streaks(seen)
    found.me(seen)
    return found.found
