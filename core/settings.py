"""Settings read from the environment, with embedded defaults."""

import os
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var"


def _default_database_url() -> str:
    return f"sqlite:///{VAR / 'dailyprogress.sqlite3'}"


def _default_redis_url() -> str:
    return f"unix://{VAR / 'redis.sock'}"


@dataclass(frozen=True)
class Settings:
    database_url: str = field(default_factory=_default_database_url)
    redis_url: str = field(default_factory=_default_redis_url)
    broker_url: str = ""
    port: int = 8000
    rank_floor: float = 15.0
    checkin_min: int = 1
    checkin_max: int = 5
    recompute_interval: float = 900.0

    def __post_init__(self):
        if not self.broker_url:
            object.__setattr__(self, "broker_url", self.redis_url)

    @property
    def embedded_redis(self) -> bool:
        return self.redis_url == _default_redis_url()

    @classmethod
    def from_env(cls, env=None) -> "Settings":
        env = os.environ if env is None else env
        redis_url = env.get("REDIS_URL") or _default_redis_url()
        return cls(
            database_url=env.get("DATABASE_URL") or _default_database_url(),
            redis_url=redis_url,
            broker_url=env.get("CELERY_BROKER_URL") or redis_url,
            port=int(env.get("PORT") or 8000),
            rank_floor=float(env.get("RANK_FLOOR") or 15.0),
            checkin_min=int(env.get("CHECKIN_MIN") or 1),
            checkin_max=int(env.get("CHECKIN_MAX") or 5),
            recompute_interval=float(env.get("RECOMPUTE_INTERVAL") or 900),
        )
