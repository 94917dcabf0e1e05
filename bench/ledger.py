"""What the demo sent, user by user: the only input of the model.

Times are those the client saw. A request's local day is the day of
the user's zone when it was sent; when the local midnight passed while
it was in flight, the day the service answered is taken if it is one
of the two, and the day is marked unsure otherwise.
"""

from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo


def local_day(at: datetime, zone: str) -> date:
    return at.astimezone(ZoneInfo(zone)).date()


@dataclass(frozen=True)
class Sent:
    """One report, as the service must count it."""

    kind: str  # "action" or "customaction"
    target: int  # the user action or custom action id
    state: str
    at: datetime  # aware: occurred_at, or when it was sent
    order: int  # its place among the user's reports, as sent
    day: date  # the user's local day it counts on
    live: bool  # sent over HTTP, not imported


@dataclass
class Member:
    """One user of the population, and everything sent for them."""

    index: int
    email: str
    zone: str
    profile: str
    id: int = 0
    token: str = ""
    goals: list[int] = field(default_factory=list)
    actions: dict[int, int] = field(default_factory=dict)  # ua id: action
    customs: list[int] = field(default_factory=list)
    reports: list[Sent] = field(default_factory=list)
    # day -> {goal id: the value sent last that day}
    checkins: dict[date, dict[int, int]] = field(default_factory=dict)
    # day -> (actions_total, customactions_total) after its last change
    totals_by_day: dict[date, tuple[int, int]] = field(default_factory=dict)
    # totals before a removal sent while reports were still queued
    totals_before_removal: tuple[int, int] | None = None
    unsure: set[date] = field(default_factory=set)

    @property
    def totals(self) -> tuple[int, int]:
        return len(self.actions), len(self.customs)

    def targets(self) -> list[tuple[str, int]]:
        return [("action", ua) for ua in self.actions] + [
            ("customaction", custom) for custom in self.customs
        ]

    def day_of(self, sent: datetime, answered: datetime, said=None):
        """The local day of a request in flight from `sent` to
        `answered`; `said` is the date the service gave, if any."""
        first = local_day(sent, self.zone)
        last = local_day(answered, self.zone)
        if first == last:
            return first
        if said in (first.isoformat(), last.isoformat()):
            return date.fromisoformat(said)
        self.unsure.update((first, last))
        return last

    def note_totals(self, day: date) -> None:
        self.totals_by_day[day] = self.totals

    def record(self, kind, target, state, at, day, live) -> Sent:
        sent = Sent(kind, target, state, at, len(self.reports), day, live)
        self.reports.append(sent)
        return sent
