"""Alembic environment: the models' metadata, the configured database."""

from alembic import context
from sqlalchemy import create_engine

from core.models import Base
from core.settings import Settings

config = context.config


def _url() -> str:
    return (
        config.get_main_option("sqlalchemy.url")
        or Settings.from_env().database_url
    )


def run_offline() -> None:
    context.configure(url=_url(), target_metadata=Base.metadata)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    engine = create_engine(_url())
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
