"""Redis emptied or gone: reads fall back to SQL, nothing accepted is lost.

FLUSHALL wipes the ranks and streak caches (after the stream is
drained); `rebuild-cache` must bring them back equal to SQL. Killing
redis-server takes the broker away: reports get 503, never 202, and
those accepted before are still applied once it is back, from its
append-only file.
"""

import pytest
from sqlalchemy import select

from core import engagement, streaks
from core.days import today
from core.models import DailyProgress, User
from core.ranks import RANK, rank_percent, reported
from tests.faults.support import counters, make_users, wait_drained
from tests.integration.stack import RANK_FLOOR, local_time, local_today

pytestmark = pytest.mark.faults


def shown(user) -> dict:
    """What the client reads; a recompute may touch `updated_on`."""
    rows = [{**row, "updated_on": None} for row in user.rows()]
    return {"rows": rows, "streaks": user.streaks(days=14)}


def streaks_from_sql(db, user_id: int, zone: str, days: int = 14) -> dict:
    """The streak answer SPEC 4.5 gives, computed from SQL alone."""
    last = today(zone)
    with db.reading() as session:
        found = streaks.counts_from_sql(session, user_id, last)
    counts = {day: count for day, (_, count) in found.items()}
    return {
        "count": days,
        "current_streak": streaks.current_streak(counts, last),
        "results": streaks.series(counts, last, days),
    }


def test_after_flushall_reads_fall_back_and_rebuild_cache_restores_redis(
    stack, stack_db
):
    keen, middling, idle = make_users(
        stack, stack_db, "Asia/Kolkata", "America/New_York", "Europe/Berlin"
    )
    walks, reads = (
        {u.id: u.select_action(action) for u in (keen, middling, idle)}
        for action in stack.actions
    )
    for days_ago in (2, 1):
        when = local_time(keen.timezone, days_ago)
        keen.report("action", walks[keen.id], occurred_at=when)
    keen.report("action", walks[keen.id])
    keen.report("action", reads[keen.id], state="dismissed")
    middling.report("action", walks[middling.id])
    middling.report(
        "action",
        reads[middling.id],
        state="snoozed",
        occurred_at=local_time(middling.timezone, 1),
    )
    idle.report("action", walks[idle.id], state="dismissed")
    wait_drained(stack)
    before = {user.id: shown(user) for user in (keen, middling, idle)}
    live = stack.redis.zrange(RANK, 0, -1, withscores=True)
    assert before[keen.id]["streaks"]["current_streak"] == 3

    stack.redis.flushall()

    # Until the rebuild, streaks come from SQL, and today's rank from an
    # empty rank set: the floor. Past rows keep their stored values.
    for user in (keen, middling, idle):
        now = shown(user)
        assert now["streaks"] == before[user.id]["streaks"]
        today_row, *past = now["rows"]
        assert {**user.latest(), "updated_on": None} == today_row
        assert today_row["engagement_rank"] == RANK_FLOOR
        assert past == before[user.id]["rows"][1:]
        was = before[user.id]["rows"][0]
        assert {**today_row, "engagement_rank": None} == {
            **was,
            "engagement_rank": None,
        }

    answer = stack.cli_ok("rebuild-cache")

    # The rank set holds every ranked user's 15-day engagement from SQL.
    with stack_db.reading() as session:
        measured = engagement.measure_active(session)
        zones = dict(
            session.execute(
                select(User.id, User.timezone).where(
                    User.id.in_(select(DailyProgress.user_id))
                )
            ).all()
        )
    ranked = {
        str(user_id): found.days_15
        for user_id, found in measured.items()
        if found.ranked
    }
    scores = stack.redis.zrange(RANK, 0, -1, withscores=True)
    assert {member.decode(): score for member, score in scores} == ranked
    assert {member.decode(): score for member, score in live} == ranked
    assert answer["ranked"] == len(ranked)

    # Each user's streak cache holds every day row of SQL, and is whole.
    for user_id, zone in zones.items():
        with stack_db.reading() as session:
            rows = streaks.counts_from_sql(session, user_id, today(zone))
        cached = stack.redis.hgetall(streaks.key(user_id))
        assert {k.decode(): v.decode() for k, v in cached.items()} == {
            streaks.BUILT: "1",
            **{day.isoformat(): f"{v}:{c}" for day, (v, c) in rows.items()},
        }, user_id

    # Clients see again what they saw before the flush.
    for user in (keen, middling, idle):
        mine = ranked[str(user.id)]
        lower = sum(score < mine for score in ranked.values())
        rank = reported(rank_percent(lower, len(ranked)), RANK_FLOOR)
        now = shown(user)
        assert now == before[user.id]
        assert now["rows"][0]["engagement_rank"] == rank
        assert now["streaks"] == streaks_from_sql(
            stack_db, user.id, user.timezone
        )
    assert before[keen.id]["rows"][0]["engagement_rank"] > RANK_FLOOR


def test_with_redis_down_reports_get_503_and_the_queued_ones_survive(
    stack, stack_db
):
    (user,) = make_users(stack, stack_db, "Europe/Berlin")
    walk, read = (user.select_action(action) for action in stack.actions)
    stretch = user.custom_action()
    yesterday = local_time(user.timezone, 1)
    user.report("action", walk, occurred_at=yesterday)
    user.report("action", read)
    wait_drained(stack)
    before = shown(user)
    assert before["streaks"]["current_streak"] == 2

    # Accepted while no worker runs: only Redis holds these two.
    stack.processes.stop("celery")
    user.report("customaction", stretch)
    user.report("action", read, state="dismissed")
    assert stack.backlog() == 2

    stack.processes.kill("redis")

    # Reports are refused, never accepted, while the broker is away.
    for path, body in (
        (f"actions/{walk}/complete/", {"state": "snoozed"}),
        (f"customactions/{stretch}/complete/", {"state": "dismissed"}),
        (f"actions/{read}/complete/", None),
    ):
        refused = user.post(f"/api/users/{path}", json=body)
        assert refused.status_code == 503, refused.text
        assert set(refused.json()) == {"error"}
        assert int(refused.headers["Retry-After"]) > 0
    ready = stack.http.get(stack.base_url + "/readyz", timeout=10)
    assert ready.status_code == 503
    assert int(ready.headers["Retry-After"]) > 0
    body = ready.json()
    assert (body["ready"], body["database"]) == (False, "ok")
    assert body["redis"].startswith("unavailable")
    assert body["broker"].startswith("unavailable")
    # Reads go on from SQL: today's rank is the stored one.
    assert shown(user) == before
    with stack_db.reading() as session:
        stored = session.scalar(
            select(DailyProgress.engagement_rank).where(
                DailyProgress.user_id == user.id,
                DailyProgress.day == today(user.timezone),
            )
        )
    assert user.latest()["engagement_rank"] == reported(stored, RANK_FLOOR)

    stack.start_redis()
    assert stack.backlog() == 2, "the append-only file lost accepted reports"
    stack.wait_ready(stack.base_url, "gunicorn, with Redis back")
    stack.start_worker()
    wait_drained(stack, "the reports accepted before the outage")

    rows = {row["date"]: counters(row) for row in user.rows()}
    assert rows == {
        local_today(user.timezone): {
            **counters(before["rows"][0]),
            "actions_completed": 0,
            "actions_dismissed": 1,
            "customactions_completed": 1,
        },
        local_today(user.timezone, 1): counters(before["rows"][1]),
    }

    # And new reports go through again.
    user.report("action", walk, state="snoozed")
    user.wait_for_today("a report after the outage", actions_snoozed=1)
    wait_drained(stack)
