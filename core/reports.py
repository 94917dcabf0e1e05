"""Action reports: checking them, and applying them to states and rows.

Each action has one recorded state per local day. A report replaces it
when its (occurred_at, seq) is newer; `seq` is the report's place in the
queue, so between equal times the one received later wins, and applying
the same report twice finds it not newer and changes nothing.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import bindparam, case, select, tuple_, update
from sqlalchemy.orm import Session

from core.days import as_utc, local_day, utcnow
from core.db import bounded, insert_for
from core.models import ActionReport, ActionState, DailyProgress
from core.progress import ensure_rows

KINDS = ("action", "customaction")
STATES = ("completed", "snoozed", "dismissed", "uncompleted")
COUNTED = ("completed", "snoozed", "dismissed")
LATE_LIMIT = timedelta(days=7)
AHEAD_LIMIT = timedelta(minutes=5)
LENGTH_MAX = 64


class ReportError(ValueError):
    """A report that cannot be accepted; the message names the field."""


@dataclass(frozen=True)
class Report:
    user_id: int
    kind: str
    target_id: int
    state: str
    occurred_at: datetime  # naive UTC
    day: date
    length: str | None = None

    # A queued report is one stream field, "report", holding its values
    # in the order of FIELDS, separated by spaces (the length, which may
    # hold spaces, last): one field is cheaper to append and to read.
    FIELDS = ("user", "kind", "target", "state", "occurred_at", "day")

    def to_fields(self) -> dict[str, str]:
        packed = (
            f"{self.user_id} {self.kind} {self.target_id} {self.state} "
            f"{self.occurred_at.isoformat()} {self.day.isoformat()} "
            f"{self.length or ''}"
        )
        return {"report": packed}

    @classmethod
    def from_fields(cls, fields: dict) -> "Report":
        """A queued report; also one field per value, as queued before."""
        fields = {
            (k.decode() if isinstance(k, bytes) else k): (
                v.decode() if isinstance(v, bytes) else v
            )
            for k, v in fields.items()
        }
        if "report" in fields:
            names = (*cls.FIELDS, "length")
            values = fields["report"].split(" ", len(cls.FIELDS))
            if len(values) != len(names):
                raise ValueError("report: too few values")
            fields = dict(zip(names, values, strict=True))
        return cls(
            user_id=int(fields["user"]),
            kind=fields["kind"],
            target_id=int(fields["target"]),
            state=fields["state"],
            occurred_at=datetime.fromisoformat(fields["occurred_at"]),
            day=date.fromisoformat(fields["day"]),
            length=fields["length"] or None,
        )


def parse_time(value: object, field: str = "occurred_at") -> datetime:
    """An ISO 8601 time with an offset, as an aware datetime."""
    if not isinstance(value, str):
        raise ReportError(f"{field}: expected an ISO 8601 string")
    try:
        instant = datetime.fromisoformat(value)
    except ValueError:
        raise ReportError(f"{field}: not an ISO 8601 time") from None
    if instant.tzinfo is None:
        raise ReportError(f"{field}: the time needs a UTC offset")
    return instant


def build_report(
    body: dict,
    *,
    user_id: int,
    kind: str,
    target_id: int,
    zone: str,
    now: datetime | None = None,
    any_past: bool = False,
) -> Report:
    """Check a report body and date it on the user's local day.

    Live reports may be at most 7 days late; `any_past` (imports) lifts
    that. A time up to 5 minutes ahead of `now` counts as now.
    """
    now = now or datetime.now(UTC)
    state = body.get("state")
    if state is None:
        state = "completed"
    if state not in STATES:
        raise ReportError(f"state: must be one of {', '.join(STATES)}")

    occurred_at = now
    if body.get("occurred_at") is not None:
        occurred_at = parse_time(body["occurred_at"])
        if occurred_at > now + AHEAD_LIMIT:
            raise ReportError("occurred_at: more than 5 minutes ahead")
        if not any_past and occurred_at < now - LATE_LIMIT:
            raise ReportError("occurred_at: more than 7 days ago")
        occurred_at = min(occurred_at, now)

    length = body.get("length")
    if length is not None and (
        not isinstance(length, str) or len(length) > LENGTH_MAX
    ):
        raise ReportError("length: a string of at most 64 characters")

    try:
        day = local_day(occurred_at, zone)
        occurred_at = as_utc(occurred_at)
    except OverflowError:
        # Imports take any past time, even one before the year 1 in UTC.
        raise ReportError("occurred_at: out of range") from None
    return Report(
        user_id=user_id,
        kind=kind,
        target_id=target_id,
        state=state,
        occurred_at=occurred_at,
        day=day,
        length=length,
    )


def counter(kind: str, state: str) -> str | None:
    """The day row column a recorded state counts in, if any."""
    return f"{kind}s_{state}" if state in COUNTED else None


def transitions(
    recorded: dict[tuple, tuple], batch: list[tuple[int, Report]]
) -> tuple[dict[tuple, tuple], dict[tuple, tuple[int, int]]]:
    """The newest state of each key, and the counter moves that follow.

    `recorded` maps (user, kind, target, day) to (occurred_at, seq, state)
    as stored. Returns the keys whose state changes, with their new
    (occurred_at, seq, state), and per (user, day, column) the moves as
    (delta, floor): the column becomes max(value + delta, floor). This is
    what applying the reports one by one in `seq` order gives, a counter
    stopping at 0 at each step, so batching never changes the result.
    """
    current = dict(recorded)
    winners: dict[tuple, tuple] = {}
    steps: dict[tuple, list[int]] = defaultdict(list)
    for seq, report in sorted(batch, key=lambda item: item[0]):
        key = (report.user_id, report.kind, report.target_id, report.day)
        candidate = (report.occurred_at, seq, report.state)
        old = current.get(key)
        if old is not None and candidate[:2] <= old[:2]:
            continue
        current[key] = winners[key] = candidate
        if old is not None and old[2] == report.state:
            continue
        if old is not None and counter(report.kind, old[2]):
            column = counter(report.kind, old[2])
            steps[(report.user_id, report.day, column)].append(-1)
        if counter(report.kind, report.state):
            column = counter(report.kind, report.state)
            steps[(report.user_id, report.day, column)].append(1)

    deltas: dict[tuple, tuple[int, int]] = {}
    for where, moves in steps.items():
        # After the last step that stopped at 0, the value is what the
        # later steps add up to: the largest such sum is the floor.
        floor, later = 0, 0
        for move in reversed(moves[1:]):
            later += move
            floor = max(floor, later)
        if sum(moves) or floor:
            deltas[where] = (sum(moves), floor)
    return winners, deltas


def apply_reports(
    session: Session, batch: list[tuple[int, Report]]
) -> set[tuple[int, date]]:
    """Record a batch of reports; returns the (user, day) rows touched.

    The caller holds the users' locks (see `progress.lock_users`).
    """
    if not batch:
        return set()

    # 1. Keep every report as received; a redelivered one is already there.
    session.execute(
        insert_for(session, ActionReport).on_conflict_do_nothing(
            index_elements=["seq"]
        ),
        [
            {
                "seq": seq,
                "user_id": r.user_id,
                "kind": r.kind,
                "target_id": r.target_id,
                "state": r.state,
                "occurred_at": r.occurred_at,
                "day": r.day,
                "length": r.length,
                "received_at": utcnow(),
            }
            for seq, r in batch
        ],
    )

    # 2. Compare with what is recorded, then write the winners.
    keys = {(r.user_id, r.kind, r.target_id, r.day) for _, r in batch}
    recorded = _recorded(session, keys)
    winners, deltas = transitions(recorded, batch)
    _write_states(session, recorded, winners)

    # 3. Move the counters of the rows, creating the rows first.
    pairs = {(r.user_id, r.day) for _, r in batch}
    ensure_rows(session, pairs)
    _move_counters(session, deltas)
    return pairs


def _recorded(session: Session, keys) -> dict[tuple, tuple]:
    found = {}
    columns = (
        ActionState.user_id,
        ActionState.kind,
        ActionState.target_id,
        ActionState.day,
    )
    keys = sorted(keys)
    for start in range(0, len(keys), 500):
        rows = session.execute(
            select(
                *columns,
                ActionState.occurred_at,
                ActionState.seq,
                ActionState.state,
            ).where(tuple_(*columns).in_(keys[start : start + 500]))
        )
        for user_id, kind, target, day, occurred_at, seq, state in rows:
            found[(user_id, kind, target, day)] = (occurred_at, seq, state)
    return found


def _write_states(session: Session, recorded, winners) -> None:
    fresh, changed = [], []
    for (user_id, kind, target, day), (at, seq, state) in winners.items():
        values = {
            "user_id": user_id,
            "kind": kind,
            "target_id": target,
            "day": day,
            "occurred_at": at,
            "seq": seq,
            "state": state,
        }
        known = (user_id, kind, target, day) in recorded
        (changed if known else fresh).append(values)
    if fresh:
        session.execute(insert_for(session, ActionState), fresh)
    if changed:
        session.connection().execute(
            update(ActionState)
            .where(
                ActionState.user_id == bindparam("b_user_id"),
                ActionState.kind == bindparam("b_kind"),
                ActionState.target_id == bindparam("b_target_id"),
                ActionState.day == bindparam("b_day"),
            )
            .values(
                occurred_at=bindparam("b_occurred_at"),
                seq=bindparam("b_seq"),
                state=bindparam("b_state"),
            ),
            [{f"b_{k}": v for k, v in values.items()} for values in changed],
        )


MOVABLE = tuple(counter(kind, state) for kind in KINDS for state in COUNTED)


def _move_counters(session: Session, deltas: dict[tuple, tuple]) -> None:
    """One UPDATE for all rows, each column moved by its (delta, floor)."""
    by_row: dict[tuple, dict[str, tuple]] = defaultdict(dict)
    for (user_id, day, column), move in deltas.items():
        by_row[(user_id, day)][column] = move
    if not by_row:
        return

    def moved(column):
        value = getattr(DailyProgress, column)
        delta, floor = bindparam(f"b_{column}"), bindparam(f"f_{column}")
        return case(
            (value + delta < floor, floor), else_=bounded(value, delta)
        )

    session.connection().execute(
        update(DailyProgress)
        .where(
            DailyProgress.user_id == bindparam("b_user"),
            DailyProgress.day == bindparam("b_day"),
        )
        .values(
            **{column: moved(column) for column in MOVABLE},
            version=DailyProgress.version + 1,
            updated_on=bindparam("b_now"),
        ),
        [
            {
                "b_user": user_id,
                "b_day": day,
                "b_now": utcnow(),
                **{f"b_{c}": moves.get(c, (0, 0))[0] for c in MOVABLE},
                **{f"f_{c}": moves.get(c, (0, 0))[1] for c in MOVABLE},
            }
            for (user_id, day), moves in sorted(by_row.items())
        ],
    )
