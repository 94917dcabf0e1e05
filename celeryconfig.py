"""Celery settings: delivery contract, queues and the beat schedule."""

from core.settings import VAR, Settings

_settings = Settings.from_env()


def _kombu_url(url: str) -> str:
    # kombu spells a Redis Unix socket as redis+socket://
    if url.startswith("unix://"):
        return "redis+socket://" + url.removeprefix("unix://")
    return url


broker_url = _kombu_url(_settings.broker_url)
broker_connection_retry_on_startup = True
# A task read by a worker that dies is delivered again after this long.
broker_transport_options = {"visibility_timeout": 600}

task_ignore_result = True
task_acks_late = True
task_reject_on_worker_lost = True
worker_prefetch_multiplier = 1
worker_hijack_root_logger = False
worker_send_task_events = True
task_send_sent_event = True
timezone = "UTC"

beat_schedule_filename = str(VAR / "celerybeat-schedule")  # see Procfile
beat_schedule = {
    "drain-reports": {
        "task": "workers.tasks.drain_reports",
        "schedule": 1.0,
        "options": {"expires": 10},
    },
    "recompute-engagement": {
        "task": "workers.tasks.recompute_engagement",
        "schedule": _settings.recompute_interval,
        "options": {"expires": _settings.recompute_interval},
    },
}
