"""The backing services, built once per process from the settings."""

from dataclasses import dataclass

from redis import Redis
from redis.backoff import ExponentialWithJitterBackoff
from redis.retry import Retry

from core.db import Database
from core.settings import Settings


def connect_redis(url: str) -> Redis:
    # redis-py retries ten times by default, up to ~10 s: a client waiting
    # on a report is better told 503 at once.
    return Redis.from_url(
        url,
        socket_timeout=5,
        socket_connect_timeout=2,
        health_check_interval=30,
        retry=Retry(ExponentialWithJitterBackoff(cap=0.2, base=0.02), 2),
    )


@dataclass
class Services:
    settings: Settings
    db: Database
    redis: Redis  # ranks and streak caches
    broker: Redis  # the report stream, next to Celery's queues

    @classmethod
    def from_settings(cls, settings: Settings) -> "Services":
        redis = connect_redis(settings.redis_url)
        broker = (
            redis
            if settings.broker_url == settings.redis_url
            else connect_redis(settings.broker_url)
        )
        return cls(settings, Database(settings.database_url), redis, broker)
