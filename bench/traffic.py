"""Action reports: live ones over HTTP, and history for `import-reports`.

Live reports come as the app sends them: now, late (with an occurred_at
up to 7 days back, in any offset), a little ahead of the clock, near a
local midnight, repeated, tied on the same time, and out of order. The
history spreads over 8 to 90 days back and crosses the daylight-saving
changes of each zone.
"""

import json
import random
from collections import Counter
from datetime import UTC, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from bench.client import Api
from bench.ledger import Member, local_day

STATES = {
    "active": {
        "completed": 50,
        "snoozed": 20,
        "dismissed": 15,
        "uncompleted": 15,
    },
    "perfect": {"completed": 1},
    "slacker": {"snoozed": 40, "dismissed": 30, "uncompleted": 30},
}
STATES["dormant"] = STATES["active"]
LIVE = {"active": (8, 18), "perfect": (5, 10), "slacker": (5, 10)}
MODES = {
    "now": 30,
    "late": 30,
    "midnight": 8,
    "ahead": 5,
    "repeat": 10,
    "tie": 7,
    "reorder": 10,
    "edge": 3,
}
NEAREST = timedelta(minutes=5)  # late reports are at least this late
FURTHEST = timedelta(days=7) - timedelta(minutes=10)
OFFSETS = ("Z", "UTC", "Asia/Kathmandu", "America/St_Johns", "Etc/GMT+12",
           "Pacific/Chatham", "Pacific/Kiritimati", "Europe/Berlin",
           "America/Los_Angeles", "Australia/Adelaide")  # fmt: skip
SNOOZES = ("15m", "1h", "4h", "tomorrow", "next week")


def _pick(rng: random.Random, weights: dict) -> str:
    return rng.choices(list(weights), list(weights.values()))[0]


def _stamp(at: datetime, rng: random.Random) -> str:
    """`at` written in some zone's offset, as a client in it would."""
    zone = rng.choice(OFFSETS)
    if zone == "Z":
        return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    spec = rng.choice(("seconds", "milliseconds"))
    return at.astimezone(ZoneInfo(zone)).isoformat(timespec=spec)


def _late(rng: random.Random, now: datetime) -> datetime:
    seconds = rng.uniform(NEAREST.total_seconds(), FURTHEST.total_seconds())
    return (now - timedelta(seconds=seconds)).replace(microsecond=0)


def _near_midnight(rng, zone: str, now: datetime, back: range) -> datetime:
    """An instant a few seconds or minutes from a local midnight."""
    day = local_day(now, zone) - timedelta(days=rng.choice(back))
    midnight = datetime.combine(day, time(0), tzinfo=ZoneInfo(zone))
    shift = rng.choice((-5400, -90, -30, -1, 0, 1, 30, 90, 3600))
    return (midnight.astimezone(UTC) + timedelta(seconds=shift)).replace(
        microsecond=0
    )


def _body(rng: random.Random, state: str, at: datetime | None) -> dict:
    body = {"state": state, "length": ""}
    if state == "snoozed":
        body["length"] = rng.choice(SNOOZES)
    elif rng.random() < 0.3:
        del body["length"]
    if state == "completed" and rng.random() < 0.2:
        del body["state"]  # completed is the default
    if rng.random() < 0.05:
        body["client"] = "ios/7.3"  # unknown fields are ignored
    if at is not None:
        body["occurred_at"] = _stamp(at, rng)
    return body


def report(api: Api, member: Member, kind, target, body, json_type=True):
    """POST one report; records it when the service took it."""
    path = f"/api/users/{kind}s/{target}/complete/"
    answer = api.call("POST", path, member.token, body, json_type=json_type)
    if not api.expect(answer, {202}, f"user {member.id} {path}"):
        return None
    state = (body or {}).get("state", "completed")
    at = None
    if (body or {}).get("occurred_at"):
        at = datetime.fromisoformat(body["occurred_at"])
    if at is None or at > answer.sent:
        # Received now, or ahead of the clock: counts as received.
        at = answer.sent
        day = member.day_of(at, answer.answered, answer.data.get("date"))
    else:
        day = local_day(at, member.zone)
    said = {kind: target, "state": state, "date": day.isoformat()}
    if answer.data != said:
        api.problem(f"user {member.id} {path}: {answer.data}, not {said}")
    return member.record(kind, target, state, at, day, live=True)


def send_reports(api: Api, member: Member, seed: int) -> Counter:
    """The user's live reports, then maybe a removal behind them."""
    rng = random.Random(f"{seed}/{member.index}/live")
    counts: Counter = Counter()
    targets = member.targets()
    if member.profile not in LIVE or not targets:
        return counts
    states = STATES[member.profile]
    again: list[tuple] = []  # bodies that may be sent again
    for _ in range(rng.randint(*LIVE[member.profile])):
        mode, now = _pick(rng, MODES), datetime.now(UTC)
        kind, target = rng.choice(targets)
        at = None
        if mode == "repeat" and again:
            kind, target, body = rng.choice(again)
        elif mode == "tie" and any("occurred_at" in b for *_, b in again):
            kind, target, body = rng.choice(
                [sent for sent in again if "occurred_at" in sent[2]]
            )
            body = {**body, "state": _pick(rng, STATES["active"])}
        elif mode == "reorder":
            newer = _late(rng, now)
            body = _body(rng, _pick(rng, states), newer)
            counts["reports"] += bool(report(api, member, kind, target, body))
            older = newer - timedelta(minutes=rng.uniform(1, 600))
            at = max(older, now - FURTHEST).replace(microsecond=0)
            body = _body(rng, _pick(rng, states), at)
        else:
            if mode == "late":
                at = _late(rng, now)
            elif mode == "midnight":
                at = _near_midnight(rng, member.zone, now, range(1, 7))
                if not now - FURTHEST <= at <= now - NEAREST:
                    at = _late(rng, now)
            elif mode == "ahead":
                at = now + timedelta(seconds=rng.uniform(20, 240))
            elif mode == "edge":  # minutes inside the 7-day limit
                at = now - FURTHEST + timedelta(seconds=rng.uniform(0, 120))
                at = at.replace(microsecond=0)
            body = _body(rng, _pick(rng, states), at)
        if mode != "ahead":
            again.append((kind, target, body))

        plain = body.get("state", "completed") == "completed"
        if plain and "occurred_at" not in body and rng.random() < 0.3:
            body = None  # no body at all: completed, now
        json_type = rng.random() > 0.05  # no Content-Type: read as JSON
        sent = report(api, member, kind, target, body, json_type=json_type)
        counts["reports"] += bool(sent)
        counts[mode] += bool(sent)

    if member.profile == "active" and len(targets) > 1 and rng.random() < 0.2:
        counts["removed"] += remove(api, member, *rng.choice(targets))
    return counts


def remove(api: Api, member: Member, kind: str, target: int) -> bool:
    """Unselect an action or delete a custom action, with reports on it
    probably still queued: they must count all the same."""
    before = member.totals
    answer = api.call("DELETE", f"/api/users/{kind}s/{target}/", member.token)
    if not api.expect(answer, {204}, f"user {member.id} removes {target}"):
        return False
    if kind == "action":
        del member.actions[target]
    else:
        member.customs.remove(target)
    member.totals_before_removal = before
    member.note_totals(member.day_of(answer.sent, answer.answered))
    return True


@cache
def transitions(zone: str, start: datetime, end: datetime) -> list[datetime]:
    """Instants between `start` and `end` where the zone's offset
    changes, to the minute."""
    found, tz = [], ZoneInfo(zone)
    hour, step = start, timedelta(hours=1)
    while hour < end:
        if hour.astimezone(tz).utcoffset() != (
            (hour + step).astimezone(tz).utcoffset()
        ):
            minute = hour
            while minute.astimezone(tz).utcoffset() == (
                hour.astimezone(tz).utcoffset()
            ):
                minute += timedelta(minutes=1)
            found.append(minute)
        hour += step
    return found


def _on_day(rng: random.Random, zone: str, day) -> datetime:
    """Some instant of a local day, away from its ends."""
    clock = time(rng.randint(4, 22), rng.randint(0, 59), rng.randint(0, 59))
    return datetime.combine(day, clock, tzinfo=ZoneInfo(zone)).astimezone(UTC)


def history(member: Member, seed: int, now: datetime) -> list[dict]:
    """Past reports for `import-reports`, in the order to send them."""
    rng = random.Random(f"{seed}/{member.index}/history")
    targets = member.targets()
    if member.profile not in STATES or not targets:
        return []
    states = STATES[member.profile]
    today = local_day(now, member.zone)

    if member.profile == "dormant":
        # The newest state 14 days back still ranks; 15 days back does not.
        newest, oldest = rng.choice(((14, 59), (15, 59), (16, 59), (61, 90)))
        backs = [newest] + [
            rng.randint(newest, oldest) for _ in range(rng.randint(5, 15))
        ]
        instants = [
            _on_day(rng, member.zone, today - timedelta(days=back))
            for back in backs
        ]
    else:
        instants = [
            (now - timedelta(days=rng.uniform(8, 90))).replace(microsecond=0)
            for _ in range(rng.randint(6, 20))
        ]
        # The first and last days of the 15-, 30- and 60-day windows.
        instants += [
            _on_day(rng, member.zone, today - timedelta(days=back))
            for back in rng.sample((14, 15, 29, 30, 59, 60), 2)
        ]
        start = now.replace(minute=0, second=0, microsecond=0)
        for change in transitions(
            member.zone, start - timedelta(days=90), start - timedelta(days=8)
        ):
            instants += [change + timedelta(minutes=m) for m in (-61, -1, 1)]
        instants += [
            _near_midnight(rng, member.zone, now, range(9, 89))
            for _ in range(3)
        ]

    lines = []
    for at in instants:
        kind, target = rng.choice(targets)
        lines.append(_line(rng, member, kind, target, _pick(rng, states), at))
        if rng.random() < 0.1:  # the same time, another state: later wins
            lines.append({**lines[-1], "state": _pick(rng, STATES["active"])})
        if rng.random() < 0.1:  # an older report after a newer one
            older = at - timedelta(minutes=rng.uniform(1, 300))
            lines.append(
                _line(rng, member, kind, target, _pick(rng, states), older)
            )
        if rng.random() < 0.05:
            lines.append(dict(rng.choice(lines)))
    return lines


def _line(rng, member: Member, kind: str, target: int, state: str, at):
    return {
        "user": member.id,
        "kind": kind,
        "target": target,
        "state": state,
        "occurred_at": _stamp(at, rng),
    }


def interleave(per_user: list[list[dict]], seed: int) -> list[dict]:
    """All users' lines in one file, each user's kept in order."""
    rng = random.Random(f"{seed}/file")
    queues = [list(reversed(lines)) for lines in per_user if lines]
    merged = []
    while queues:
        queue = rng.choice(queues)
        merged.append(queue.pop())
        if not queue:
            queues.remove(queue)
    return merged


def record_import(members: dict[int, Member], lines: list[dict]) -> None:
    """What one import of the file adds, in the order it is queued."""
    for line in lines:
        member = members[line["user"]]
        at = datetime.fromisoformat(line["occurred_at"])
        day = local_day(at, member.zone)
        member.record(
            line["kind"], line["target"], line["state"], at, day, live=False
        )


def write_jsonl(path, lines: list[dict]) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        for line in lines:
            handle.write(json.dumps(line, ensure_ascii=False) + "\n")
