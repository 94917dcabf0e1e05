"""The independent model: what the service must show, from what was sent.

Written from SPEC.md (sections 4.1 to 4.5), not from the service's code:

- a report counts on the user's local day of its occurred_at;
- each action keeps one recorded state per local day: the report with
  the newest occurred_at, the later sent between equal times;
- a day's counters count its recorded states (`uncompleted` has none);
- engagement over N days = share of recorded states that are
  `completed` over the N local days ending today, rounded half up;
- rank = share of ranked users with a strictly lower 15-day engagement,
  ranked users being those with a recorded state in their last 15 local
  days; a user alone, or not ranked, has 0; the API shows at least the
  floor;
- a day's streak count = completed actions + completed custom actions.
"""

import math
from bisect import bisect_left
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from fractions import Fraction

from bench.ledger import Member

COUNTED = ("completed", "snoozed", "dismissed")
WINDOWS = (15, 30, 60)
RANKED_DAYS = 15
STREAK_LOOKBACK = 366
DAY_NAMES = (
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
)
REPORT_COUNTERS = tuple(
    f"{kind}s_{state}"
    for kind in ("action", "customaction")
    for state in COUNTED
)


def percent(part: int, whole: int) -> float:
    """100 * part / whole rounded half up to 2 decimals, exactly."""
    if whole == 0:
        return 0.0
    hundredths = math.floor(Fraction(10000 * part, whole) + Fraction(1, 2))
    return hundredths / 100


@dataclass
class Row:
    """What one day row must hold."""

    counters: Counter
    totals: set[tuple[int, int]] | None  # allowed values; None: unsure
    goal_status: dict[str, int]
    checkin_streak: int


@dataclass
class Expectation:
    member: Member
    today: date
    rows: dict[date, Row]
    engagement: dict[int, float]
    ranked: bool
    streak: list[tuple[date, int]]
    current_streak: int
    rank: float = 0.0


def recorded(member: Member) -> dict[tuple, str]:
    """(kind, target, day) -> the state recorded for it."""
    best = {}
    for sent in member.reports:
        key = (sent.kind, sent.target, sent.day)
        known = best.get(key)
        if known is None or (sent.at, sent.order) > (known.at, known.order):
            best[key] = sent
    return {key: sent.state for key, sent in best.items()}


def day_counters(states: dict[tuple, str]) -> dict[date, Counter]:
    counts: dict[date, Counter] = {}
    for (kind, _, day), state in states.items():
        column = counts.setdefault(day, Counter())
        if state in COUNTED:
            column[f"{kind}s_{state}"] += 1
    return counts


def engagement(states: dict[tuple, str], today: date, days: int) -> float:
    first = today - timedelta(days=days - 1)
    inside = [
        state for (_, _, day), state in states.items() if first <= day <= today
    ]
    return percent(inside.count("completed"), len(inside))


def run_length(days: set[date], last: date, limit: int = 10**6) -> int:
    """Consecutive days of `days` ending with `last`."""
    length = 0
    while length < limit and last - timedelta(days=length) in days:
        length += 1
    return length


def _totals(member: Member, day: date, today: date, live_days: set[date]):
    """Allowed (actions_total, customactions_total) of a day row.

    A row follows the selections while it is today, then keeps them; a
    row made by a report starts from the totals when it was applied,
    which is after a removal sent behind that report, or before it.
    """
    if day in member.unsure:
        return None
    if day == today:
        return {member.totals}
    if day in member.totals_by_day:
        return {member.totals_by_day[day]}
    allowed = {member.totals}
    if member.totals_before_removal and day in live_days:
        allowed.add(member.totals_before_removal)
    return allowed


def expect(member: Member, today: date, streak_days: int) -> Expectation:
    """One user's rows, engagement and streaks, as of their `today`."""
    states = recorded(member)
    counts = day_counters(states)
    checkin_days = {day for day, goals in member.checkins.items() if goals}
    live_days = {sent.day for sent in member.reports if sent.live}

    days = set(counts) | set(member.checkins) | set(member.totals_by_day)
    if member.reports or member.checkins or member.totals_by_day:
        days.add(today)
    rows = {
        day: Row(
            counters=Counter(
                {c: counts.get(day, Counter())[c] for c in REPORT_COUNTERS}
            ),
            totals=_totals(member, day, today, live_days),
            goal_status={
                f"goal-{goal}": value
                for goal, value in member.checkins.get(day, {}).items()
            },
            checkin_streak=run_length(checkin_days, day),
        )
        for day in days
    }

    def completed(day: date) -> int:
        found = counts.get(day, Counter())
        return found["actions_completed"] + found["customactions_completed"]

    active = {day for day in counts if completed(day) > 0}
    last = today if today in active else today - timedelta(days=1)
    first = today - timedelta(days=RANKED_DAYS - 1)
    return Expectation(
        member=member,
        today=today,
        rows=rows,
        engagement={n: engagement(states, today, n) for n in WINDOWS},
        ranked=any(first <= day <= today for _, _, day in states),
        streak=[
            (day, completed(day))
            for day in (
                today - timedelta(days=n) for n in reversed(range(streak_days))
            )
        ],
        current_streak=run_length(active, last, STREAK_LOOKBACK),
    )


def assign_ranks(
    expectations: list[Expectation], others: list[float], floor: float
) -> None:
    """Each user's rank as the API reports it.

    `others` are the 15-day engagements of ranked users outside the
    population (earlier runs on the same service).
    """
    scores = sorted(
        [e.engagement[15] for e in expectations if e.ranked] + others
    )
    for e in expectations:
        rank = 0.0
        if e.ranked and len(scores) > 1:
            lower = bisect_left(scores, e.engagement[15])
            rank = percent(lower, len(scores))
        e.rank = max(rank, floor)
