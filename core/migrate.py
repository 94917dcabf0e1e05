"""Alembic, driven from code: the schema is brought up to date here."""

from alembic import command
from alembic.config import Config

from core.settings import ROOT


def config(database_url: str) -> Config:
    cfg = Config(
        str(ROOT / "alembic.ini"), toml_file=str(ROOT / "pyproject.toml")
    )
    cfg.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return cfg


def upgrade(database_url: str) -> None:
    command.upgrade(config(database_url), "head")
