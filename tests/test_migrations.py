from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from core.migrate import upgrade
from core.models import Base


def _empty(url: str):
    engine = create_engine(url)
    Base.metadata.drop_all(engine)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    return engine


def test_migrations_build_the_schema_the_models_describe(database_url):
    engine = _empty(database_url)
    upgrade(database_url)
    with engine.connect() as conn:
        diff = compare_metadata(
            MigrationContext.configure(conn), Base.metadata
        )
    engine.dispose()
    assert diff == []


def test_migrations_run_twice_change_nothing(database_url):
    engine = _empty(database_url)
    upgrade(database_url)
    tables = set(inspect(engine).get_table_names())
    upgrade(database_url)
    assert set(inspect(engine).get_table_names()) == tables
    assert "daily_progress" in tables
    engine.dispose()


def test_sqlite_never_reuses_ids_of_deleted_actions(tmp_path):
    url = f"sqlite:///{tmp_path / 'ids.sqlite3'}"
    upgrade(url)
    engine = create_engine(url)
    with engine.connect() as conn:
        ddl = dict(
            conn.execute(text("SELECT name, sql FROM sqlite_master")).all()
        )
    engine.dispose()
    assert "AUTOINCREMENT" in ddl["user_actions"]
    assert "AUTOINCREMENT" in ddl["custom_actions"]
