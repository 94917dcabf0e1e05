"""Fresh databases for one benchmark run.

SQLite files in the run's folder by default; with a PostgreSQL URL, new
databases named after it, dropped when the run ends.
"""

import os
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, make_url, text

from core.migrate import upgrade


class Databases:
    """Fresh databases for the run, dropped at the end on PostgreSQL."""

    def __init__(self, folder: Path, base_url: str = ""):
        self.folder = folder
        self.base_url = base_url
        self.made: list[str] = []

    @property
    def kind(self) -> str:
        return "postgresql" if self.base_url else "sqlite"

    def fresh(self, name: str) -> str:
        """A migrated, empty database for one part of the run."""
        if not self.base_url:
            url = f"sqlite:///{self.folder / name}.sqlite3"
        else:
            base = make_url(self.base_url)
            db_name = f"{base.database}_bench_{name}_{os.getpid()}"
            with self._admin() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{db_name}"'))
                conn.execute(text(f'CREATE DATABASE "{db_name}"'))
            self.made.append(db_name)
            url = base.set(database=db_name).render_as_string(
                hide_password=False
            )
        upgrade(url)
        return url

    def drop_all(self) -> None:
        for db_name in self.made:
            with self._admin() as conn:
                conn.execute(
                    text(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
                )
        self.made.clear()

    @contextmanager
    def _admin(self):
        engine = create_engine(self.base_url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                yield conn
        finally:
            engine.dispose()
