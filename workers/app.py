"""The Celery app, and one structured log line per task."""

import logging
import time

from celery import Celery, signals

from core import logs, metrics

app = Celery("dailyprogress", include=["workers.tasks"])
app.config_from_object("celeryconfig")

log = logging.getLogger("workers.tasks")
_started: dict[str, float] = {}


@signals.setup_logging.connect
def _logging(**_):
    logs.configure()
    # Our own line per task says more; these repeat every beat tick.
    for name in ("celery.app.trace", "celery.worker.strategy", "celery.beat"):
        logging.getLogger(name).setLevel(logging.WARNING)


@signals.task_prerun.connect
def _task_started(task_id=None, **_):
    _started[task_id] = time.perf_counter()


@signals.task_failure.connect
def _task_failed(sender=None, **_):
    metrics.TASK_FAILURES.labels(sender.name).inc()


@signals.task_postrun.connect
def _task_done(task_id=None, task=None, state=None, retval=None, **_):
    started = _started.pop(task_id, None)
    extra = {"task": task.name, "id": task_id, "state": state}
    if started is not None:
        seconds = time.perf_counter() - started
        metrics.TASK_SECONDS.labels(task.name).observe(seconds)
        extra["ms"] = round(seconds * 1000, 2)
    if isinstance(retval, dict):
        extra.update(retval)
    if state != "SUCCESS" or (retval or {}).get("applied"):
        log.info("task", extra=extra)
