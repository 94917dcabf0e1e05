"""One running service for the fault tests, with short recovery times.

A stream entry left pending by a dead worker is claimed after 2 seconds
instead of 30, and one SQLite write waits 1 second for the lock instead
of 30, so that a crash or a lock is recovered from within a test. Tests
stop, kill and restart processes; after each one, whatever is down is
started again for the next.
"""

import pytest
from redis.exceptions import RedisError

from core.db import Database
from tests.integration.stack import running_stack

CLAIM_AFTER_MS = 2000


@pytest.fixture(scope="package")
def stack(tmp_path_factory):
    folder = tmp_path_factory.mktemp("faults")
    with running_stack(
        folder,
        CLAIM_AFTER_MS=str(CLAIM_AFTER_MS),
        SQLITE_BUSY_TIMEOUT="1",
    ) as service:
        yield service


@pytest.fixture(scope="package")
def stack_db(stack):
    """The stack's own database, read and written from the test process."""
    database = Database(stack.env["DATABASE_URL"])
    yield database
    database.dispose()


@pytest.fixture(autouse=True)
def everything_up_again(stack):
    yield
    running = {name for name, _ in stack.processes.running}
    if "redis" not in running:
        stack.start_redis()
    try:
        stack.redis.execute_command("CLIENT", "UNPAUSE")
    except RedisError:
        pass
    if "celery" not in running:
        stack.start_worker()
