"""Shared fixtures: a fresh database, fakeredis, the app, and users.

Tests run on a temporary SQLite file, or on PostgreSQL when
TEST_DATABASE_URL is set (its tables are dropped and made anew).
"""

import itertools
import os
from datetime import UTC, datetime

import fakeredis
import pytest
from falcon import testing

from api.app import create_app
from core import accounts, pipeline, queue
from core.db import Database
from core.models import Base
from core.services import Services
from core.settings import Settings


@pytest.fixture
def database_url(tmp_path) -> str:
    return os.environ.get("TEST_DATABASE_URL") or (
        f"sqlite:///{tmp_path / 'test.sqlite3'}"
    )


@pytest.fixture
def db(database_url):
    database = Database(database_url)
    Base.metadata.drop_all(database.writer)
    Base.metadata.create_all(database.writer)
    yield database
    database.dispose()


@pytest.fixture
def redis():
    return fakeredis.FakeRedis()


@pytest.fixture
def settings(database_url) -> Settings:
    return Settings(database_url=database_url, redis_url="redis://fake/0")


@pytest.fixture
def services(settings, db, redis) -> Services:
    return Services(settings, db, redis, redis)


@pytest.fixture
def client(settings, services):
    return testing.TestClient(create_app(settings, services))


_emails = itertools.count(1)


class World:
    """Builds users, goals and actions, and drains the queue like a worker."""

    def __init__(self, services: Services, client=None):
        self.services = services
        self.db = services.db
        self.client = client

    def user(self, email=None, timezone="UTC"):
        email = email or f"user{next(_emails)}@example.org"
        user, token = self.db.write(
            lambda s: accounts.create_user(s, email, timezone)
        )
        return User(self, user.id, timezone, token)

    def goal(self, title="Sleep well") -> int:
        return self.db.write(lambda s: accounts.create_goal(s, title).id)

    def action(self, title="Walk", goal=None) -> int:
        return self.db.write(
            lambda s: accounts.create_action(s, title, goal).id
        )

    def drain(self) -> pipeline.Outcome:
        return pipeline.drain(
            self.db,
            self.services.broker,
            self.services.redis,
            "test-consumer",
            seconds=60,
            gather=0,
        )

    def backlog(self) -> int:
        return queue.backlog(self.services.broker)


class User:
    def __init__(self, world: World, id: int, timezone: str, token: str):
        self.world = world
        self.id = id
        self.timezone = timezone
        self.token = token
        self.caller = accounts.Caller(id, timezone)

    @property
    def headers(self) -> dict:
        return {"Authorization": f"Token {self.token}"}

    def request(self, method, path, **kwargs):
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return self.world.client.simulate_request(
            method, path, headers=headers, **kwargs
        )

    def get(self, path, **kwargs):
        return self.request("GET", path, **kwargs)

    def post(self, path, **kwargs):
        return self.request("POST", path, **kwargs)

    def select_goal(self, goal_id: int):
        return self.world.db.write(
            lambda s: accounts.select_goal(s, self.caller, goal_id)[0].id
        )

    def select_action(self, action_id: int) -> int:
        """Returns the user action id."""
        return self.world.db.write(
            lambda s: accounts.select_action(s, self.caller, action_id)[0].id
        )

    def custom_action(self, title="Stretch") -> int:
        return self.world.db.write(
            lambda s: accounts.create_custom_action(s, self.caller, title).id
        )


@pytest.fixture
def world(services, client) -> World:
    return World(services, client)


@pytest.fixture
def now() -> datetime:
    return datetime.now(UTC)
