"""Large tables made in the database itself, from a series of numbers.

Millions of rows sent from Python would take minutes; INSERT ... SELECT
over a generated series (a recursive CTE on SQLite, generate_series on
PostgreSQL) takes seconds. Every value is a function of the user id and
the day offset, so Python can tell what is in the tables.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import (
    Connection,
    Date,
    DateTime,
    bindparam,
    create_engine,
    event,
    text,
)

_SERIES = {
    "sqlite": (
        "WITH RECURSIVE n(i) AS "
        "(SELECT :lo UNION ALL SELECT i + 1 FROM n WHERE i < :hi) "
    ),
    "postgresql": "",
}
_FROM = {
    "sqlite": "FROM n",
    "postgresql": "FROM generate_series(CAST(:lo AS bigint), :hi) AS n(i)",
}
_PAD = {
    "sqlite": "printf('%064d', i)",
    "postgresql": "lpad(CAST(i AS text), 64, '0')",
}
_COUNTERS = (
    "actions_total, actions_completed, actions_snoozed, actions_dismissed, "
    "customactions_total, customactions_completed, customactions_snoozed, "
    "customactions_dismissed"
)


def score(user_id: int) -> float:
    """The 15-day engagement `daily_rows` gives a user."""
    return (user_id * 7919) % 10001 / 100


@contextmanager
def bulk(url: str) -> Iterator[Connection]:
    """A connection of its own for filling, committed at the end.

    SQLite gets a large page cache and no fsync here only: the service's
    own connections keep their settings, so what is timed is untouched.
    """
    engine = create_engine(url)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        if url.startswith("sqlite"):
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=OFF")
            cursor.execute("PRAGMA cache_size=-262144")
            cursor.close()

    try:
        with engine.begin() as conn:
            yield conn
    finally:
        engine.dispose()


def _run(conn: Connection, sql: str, **params) -> None:
    dialect = conn.dialect.name
    sql = sql.format(
        series=_SERIES[dialect], rows=_FROM[dialect], pad=_PAD[dialect]
    )
    statement = text(sql).bindparams(
        *(
            bindparam(name, type_=DateTime if name == "now" else Date)
            for name in params
            if name == "now" or name.startswith("day")
        )
    )
    conn.execute(statement, params)


def users(conn: Connection, lo: int, hi: int, zones: tuple, now: datetime):
    """Users lo..hi; user i lives in zones[i % len(zones)]."""
    zone = " ".join(f"WHEN {n} THEN '{name}'" for n, name in enumerate(zones))
    _run(
        conn,
        "{series}INSERT INTO users "
        "(id, email, timezone, token_hash, created_on) "
        "SELECT i, 'b' || i || '@bench.example.org', "
        f"CASE i % {len(zones)} {zone} END, {{pad}}, :now {{rows}}",
        lo=lo,
        hi=hi,
        now=now,
    )


def daily_rows(conn: Connection, lo: int, hi: int, todays: tuple, now):
    """A day row per user lo..hi, on todays[i % len(todays)] for user i,
    with `score` as its 15-day engagement."""
    day = " ".join(f"WHEN {n} THEN :day{n}" for n in range(len(todays)))
    _run(
        conn,
        "{series}INSERT INTO daily_progress "
        f"(user_id, day, {_COUNTERS}, engagement_15_days, "
        "engagement_30_days, engagement_60_days, engagement_rank, "
        "version, created_on, updated_on) "
        f"SELECT i, CASE i % {len(todays)} {day} END, "
        "1, 0, 0, 0, 0, 0, 0, 0, "
        "(i * 7919) % 10001 / 100.0, 0, 0, 0, 1, :now, :now {rows}",
        lo=lo,
        hi=hi,
        now=now,
        **{f"day{n}": d for n, d in enumerate(todays)},
    )


def history(conn: Connection, lo: int, hi: int, days: int, todays: tuple):
    """A state a day for `days` days up to each user's today.

    User i has one action (user action id i, made by `selections`) and
    completes it on about (i % 100) days in a hundred; the other days
    it is snoozed or dismissed. `todays[n]` is the local today of the
    users of zone n.
    """
    dialect = conn.dialect.name
    today = " ".join(f"WHEN {n} THEN :day{n}" for n in range(len(todays)))
    today = f"CASE i % {len(todays)} {today} END"
    if dialect == "sqlite":
        day = f"date({today}, '-' || k || ' days')"
        moment = f"{day} || ' 12:00:00.000000'"
        days_cte = (
            ", d(k) AS (SELECT 0 UNION ALL "
            f"SELECT k + 1 FROM d WHERE k < {days - 1}) "
        )
        series = _SERIES["sqlite"].rstrip() + days_cte
        rows = "FROM n, d"
    else:
        day = f"CAST({today} AS date) - k"
        moment = f"CAST({day} AS timestamp) + interval '12 hours'"
        series = ""
        rows = (
            "FROM generate_series(CAST(:lo AS bigint), :hi) AS n(i), "
            f"generate_series(0, {days - 1}) AS d(k)"
        )
    state = (
        "CASE WHEN (i * 31 + k * 17) % 100 < i % 100 THEN 'completed' "
        "WHEN k % 2 = 0 THEN 'snoozed' ELSE 'dismissed' END"
    )
    sql = (
        f"{series}INSERT INTO action_states "
        "(user_id, kind, target_id, day, state, occurred_at, seq) "
        f"SELECT i, 'action', i, {day}, {state}, {moment}, i * 1000 + k "
        f"{rows}"
    )
    statement = text(sql).bindparams(
        *(bindparam(f"day{n}", type_=Date) for n in range(len(todays)))
    )
    params = {f"day{n}": d for n, d in enumerate(todays)}
    conn.execute(statement, {"lo": lo, "hi": hi, **params})


def selections(conn: Connection, lo: int, hi: int, now: datetime):
    """A goal, an action, and user action i of user i for lo..hi."""
    conn.execute(text("INSERT INTO goals (id, title) VALUES (1, 'B')"))
    conn.execute(
        text("INSERT INTO actions (id, title, goal_id) VALUES (1, 'B', 1)")
    )
    _run(
        conn,
        "{series}INSERT INTO user_actions "
        "(id, user_id, action_id, created_on) SELECT i, i, 1, :now {rows}",
        lo=lo,
        hi=hi,
        now=now,
    )
