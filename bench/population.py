"""Building the population: zones, catalogue, users and their choices."""

import random
from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from bench.client import Api, DemoError, run_cli
from bench.ledger import Member, local_day

ZONES = (
    # half and quarter hours
    "Asia/Kolkata", "Asia/Kathmandu", "Asia/Colombo", "Asia/Tehran",
    "Asia/Kabul", "Asia/Yangon", "Australia/Adelaide", "Australia/Darwin",
    "Australia/Eucla", "Australia/Lord_Howe", "America/St_Johns",
    "Pacific/Chatham", "Pacific/Marquesas",
    # northern daylight saving, some switching at midnight
    "Europe/London", "Europe/Berlin", "Europe/Helsinki", "Europe/Lisbon",
    "Europe/Chisinau", "Atlantic/Azores", "America/Scoresbysund",
    "America/New_York", "America/Chicago", "America/Denver",
    "America/Los_Angeles", "America/Anchorage", "America/Havana",
    "America/Halifax", "Asia/Beirut", "Africa/Cairo",
    # southern daylight saving
    "Australia/Sydney", "Australia/Melbourne", "Australia/Hobart",
    "America/Santiago", "Pacific/Easter", "Pacific/Auckland",
    # no daylight saving
    "UTC", "Asia/Tokyo", "Asia/Shanghai", "Asia/Singapore", "Asia/Dubai",
    "Asia/Karachi", "Africa/Lagos", "Africa/Johannesburg",
    "America/Sao_Paulo", "America/Asuncion", "America/Bogota",
    "America/Phoenix", "Pacific/Honolulu",
    # the extremes: UTC+14, +13, -11, -12
    "Pacific/Kiritimati", "Pacific/Tongatapu", "Pacific/Apia",
    "Pacific/Pago_Pago", "Pacific/Niue", "Etc/GMT+12",
)  # fmt: skip

PROFILES = {
    "active": 70,  # selects, checks in, reports live and has history
    "perfect": 7,  # completes everything
    "slacker": 7,  # completes nothing
    "dormant": 7,  # only history older than 15 days
    "quiet": 6,  # selects goals only; checks in, several at once
    "ghost": 3,  # selects a goal, nothing else
}

GOALS = {
    "Sleep better": ("No screens after 22:00", "Lights out by 23:00"),
    "Move more": ("Walk 20 minutes", "Take the stairs", "Stretch"),
    "Eat well": ("Eat a piece of fruit", "Cook dinner"),
    "Stress less": ("Breathe for 5 minutes", "Write a journal entry"),
    "Read daily": ("Read 10 pages",),
    "Save money": ("Skip takeaway coffee", "Check the budget"),
}
LOOSE_ACTIONS = ("Drink a glass of water", "Call a friend", "Tidy the desk")
CUSTOM_TITLES = (
    "Practice guitar", "Méditer dix minutes", "水を飲む", "Plank 🧘 1 min",
    "Water the plants", "Duolingo lesson", "x" * 256,
)  # fmt: skip


@dataclass
class Catalogue:
    goals: list[int]
    actions: dict[int, int | None]  # action id -> its goal


def usable_zones(start: datetime, end: datetime):
    """Zones whose local day stays the same from `start` to `end`, and
    the others (their local midnight falls within the run)."""
    usable = [z for z in ZONES if local_day(start, z) == local_day(end, z)]
    return usable, [z for z in ZONES if z not in usable]


def plan(count: int, seed: int, run: str, zones: list[str]) -> list[Member]:
    """The users to create; every zone gets some, profiles are drawn."""
    rng = random.Random(seed)
    order = list(zones)
    rng.shuffle(order)
    names, weights = zip(*PROFILES.items(), strict=True)
    return [
        Member(
            index=index,
            email=f"demo-{run}-{index:04d}@example.org",
            zone=order[index % len(order)],
            profile=rng.choices(names, weights)[0],
        )
        for index in range(count)
    ]


def create_catalogue(run: str) -> Catalogue:
    catalogue = Catalogue([], {})
    for title, actions in GOALS.items():
        goal = run_cli("create-goal", "--title", f"{title} ({run})")["id"]
        catalogue.goals.append(goal)
        for name in actions:
            made = run_cli(
                "create-action", "--title", name, "--goal", str(goal)
            )
            catalogue.actions[made["id"]] = goal
    for name in LOOSE_ACTIONS:
        made = run_cli("create-action", "--title", name)
        catalogue.actions[made["id"]] = None
    return catalogue


def create_users(members: list[Member]) -> None:
    for member in members:
        made = run_cli(
            "create-user", "--email", member.email, "--timezone", member.zone
        )
        if made.get("timezone") != member.zone or not made.get("token"):
            raise DemoError(f"create-user answered {made}")
        member.id, member.token = made["id"], made["token"]


def choose(api: Api, member: Member, catalogue: Catalogue, seed: int):
    """One user's selections and first check-ins, as the app sends them."""
    rng = random.Random(f"{seed}/{member.index}/choose")
    counts: Counter = Counter()
    token, me = member.token, f"user {member.email}"

    sizes = {"ghost": (1,), "quiet": (2, 3)}.get(member.profile)
    goals = rng.sample(catalogue.goals, rng.choice(sizes or (1, 1, 2, 2, 3)))
    if rng.random() < 0.2:
        goals.append(goals[0])  # sent twice: the second answer is a 200
    for goal in goals:
        again = goal in member.goals
        answer = api.call("POST", "/api/users/goals/", token, {"goal": goal})
        status = {200} if again else {201}
        if api.expect(answer, status, f"{me} goal") and not again:
            member.goals.append(goal)
            counts["goals"] += 1
    if member.profile in ("ghost", "quiet"):
        return counts

    actions = rng.sample(sorted(catalogue.actions), rng.randint(1, 5))
    if rng.random() < 0.2:
        actions.append(actions[0])
    for action in actions:
        again = action in member.actions.values()
        answer = api.call(
            "POST", "/api/users/actions/", token, {"action": action}
        )
        if not api.expect(answer, {200} if again else {201}, f"{me} action"):
            continue
        if answer.data.get("action") != action:
            api.problem(f"{me} selected {action}, got {answer.data}")
        if not again:
            member.actions[answer.data["id"]] = action
            member.note_totals(member.day_of(answer.sent, answer.answered))
            counts["actions"] += 1

    for title in rng.sample(CUSTOM_TITLES, rng.choice((0, 0, 1, 2, 3))):
        answer = api.call(
            "POST", "/api/users/customactions/", token, {"title": title}
        )
        if api.expect(answer, {201}, f"{me} custom action"):
            member.customs.append(answer.data["id"])
            member.note_totals(member.day_of(answer.sent, answer.answered))
            counts["custom actions"] += 1

    for goal in member.goals:
        for _ in range(rng.choice((0, 1, 1, 2))):
            counts["check-ins"] += check_in(
                api, member, goal, rng.randint(1, 5)
            )
    return counts


def check_in(api: Api, member: Member, goal: int, value: int) -> bool:
    answer = api.call(
        "POST",
        "/api/users/progress/checkin/",
        member.token,
        {"goal": goal, "daily_checkin": value},
    )
    if not api.expect(answer, {200}, f"user {member.email} check-in"):
        return False
    day = member.day_of(answer.sent, answer.answered, answer.data.get("date"))
    member.checkins.setdefault(day, {})[goal] = value
    shown = answer.data.get("goal_status", {}).get(f"goal-{goal}")
    if shown != value:
        api.problem(
            f"user {member.id} checked in {value} for goal {goal}, "
            f"the row shows {shown}"
        )
    return True


def burst_plan(members: list[Member], seed: int) -> list[tuple]:
    """(member, goal, value): one check-in per goal of each user with
    several goals, to be sent at the same moment."""
    rng = random.Random(f"{seed}/burst")
    return [
        (member, goal, rng.randint(1, 5))
        for member in members
        if len(member.goals) > 1
        for goal in member.goals
    ]
