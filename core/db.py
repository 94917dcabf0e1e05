"""Engines, sessions and the portable SQL helpers the rules share."""

import logging
import os
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from sqlalchemy import case, create_engine, event, make_url
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)
T = TypeVar("T")

INT_MAX = 2147483647
# How long one SQLite write attempt waits for the lock, in seconds.
BUSY_TIMEOUT = float(os.environ.get("SQLITE_BUSY_TIMEOUT") or 30)


def _sqlite_engine(url: str, immediate: bool) -> Engine:
    engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        # Let SQLAlchemy, not the driver, decide when transactions begin.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT * 1000)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        # Writers take the write lock up front, so two writers never both
        # read a state and then collide when one of them upgrades.
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


class Database:
    """A read engine and a write engine over one database.

    On PostgreSQL both are the same engine; writers lock the user rows
    they touch. On SQLite the write engine begins `IMMEDIATE`.
    """

    def __init__(self, url: str):
        self.url = url
        if url.startswith("sqlite"):
            _make_folder(url)
            self.reader = _sqlite_engine(url, immediate=False)
            self.writer = _sqlite_engine(url, immediate=True)
        else:
            self.reader = self.writer = create_engine(
                url, pool_pre_ping=True, pool_size=5, max_overflow=10
            )
        self._read = sessionmaker(self.reader, expire_on_commit=False)
        self._write = sessionmaker(self.writer, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite")

    @contextmanager
    def reading(self) -> Iterator[Session]:
        with self._read() as session:
            yield session

    @contextmanager
    def writing(self) -> Iterator[Session]:
        with self._write.begin() as session:
            yield session

    def write(self, work: Callable[[Session], T], attempts: int = 8) -> T:
        """Run `work` in a write transaction, again on a transient error."""
        for attempt in range(1, attempts + 1):
            try:
                with self.writing() as session:
                    return work(session)
            except (OperationalError, DBAPIError) as exc:
                if attempt == attempts or not is_transient(exc):
                    raise
                pause = min(2.0, 0.05 * 2**attempt) * random.uniform(0.5, 1)
                log.warning(
                    "transient database error, retrying",
                    extra={"attempt": attempt, "error": str(exc.orig)},
                )
                time.sleep(pause)
        raise AssertionError("unreachable")

    def dispose(self) -> None:
        self.reader.dispose()
        self.writer.dispose()


def _make_folder(url: str) -> None:
    path = make_url(url).database
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)


def is_transient(exc: DBAPIError) -> bool:
    """Locks, deadlocks and lost connections pass; bad SQL does not."""
    if exc.connection_invalidated:
        return True
    text = str(exc.orig).lower()
    needles = (
        "database is locked",
        "deadlock detected",
        "could not serialize",
        "server closed the connection",
        "connection refused",
        "terminating connection",
        "lock timeout",
    )
    return any(needle in text for needle in needles)


def insert_for(session: Session, table):
    """The dialect's INSERT, which knows ON CONFLICT."""
    name = session.get_bind().dialect.name
    module = postgresql if name == "postgresql" else sqlite
    return module.insert(table)


def bounded(column, delta):
    """`column + delta`, kept within 0 and the integer range, in SQL."""
    raised = column + delta
    return case(
        (raised < 0, 0),
        (raised > INT_MAX, INT_MAX),
        else_=raised,
    )
