"""Tasks: thin wrappers that hand the work to `core.pipeline`."""

from celery import signals
from redis.exceptions import RedisError
from sqlalchemy.exc import InterfaceError, OperationalError

from core import pipeline
from core.queue import consumer_name
from core.services import Services
from core.settings import Settings
from workers.app import app

_services: Services | None = None
TRANSIENT = (OperationalError, InterfaceError, RedisError)


def services() -> Services:
    global _services
    if _services is None:
        _services = Services.from_settings(Settings.from_env())
    return _services


@signals.worker_process_init.connect
def _fresh_connections(**_):
    # Connections must not cross a fork.
    global _services
    _services = None


@app.task(
    ignore_result=True,
    acks_late=True,
    autoretry_for=TRANSIENT,
    retry_backoff=True,
    retry_backoff_max=30,
    max_retries=None,
)
def drain_reports(seconds: float = 5.0) -> dict:
    """Apply queued reports in batches until the stream is empty."""
    s = services()
    outcome = pipeline.drain(s.db, s.broker, s.redis, consumer_name(), seconds)
    return {"applied": outcome.applied, "buried": outcome.buried}


@app.task(
    ignore_result=True,
    acks_late=True,
    autoretry_for=TRANSIENT,
    retry_backoff=True,
    retry_backoff_max=60,
    max_retries=5,
)
def recompute_engagement() -> dict:
    """Every active user's engagement onto today's row; ranks follow."""
    s = services()
    return {"users": pipeline.recompute_all(s.db, s.redis)}
