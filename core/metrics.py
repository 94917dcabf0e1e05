"""Prometheus metrics, shared by the API and the workers.

With PROMETHEUS_MULTIPROC_DIR set (as `make run` does), every process
writes its samples under that folder and the API's /metrics adds them
up, the Celery workers' included.
"""

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from redis.exceptions import RedisError

from core import queue, ranks

REQUESTS = Counter(
    "dp_http_requests",
    "HTTP requests answered, by route, method and status.",
    ["route", "method", "status"],
)
LATENCY = Histogram(
    "dp_http_request_seconds",
    "Time to answer an HTTP request, by route and method.",
    ["route", "method"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5),
)
REPORTS_ACCEPTED = Counter(
    "dp_reports_accepted", "Reports queued and answered 202.", ["kind"]
)
REPORTS_REJECTED = Counter(
    "dp_reports_rejected", "Reports refused, by HTTP status.", ["status"]
)
REPORTS_APPLIED = Counter(
    "dp_reports_applied", "Reports applied to SQL by the workers."
)
REPORTS_BURIED = Counter(
    "dp_reports_buried", "Reports set aside in dp:reports:dead."
)
TASK_SECONDS = Histogram(
    "dp_task_seconds",
    "Time a Celery task ran, by task.",
    ["task"],
    buckets=(0.005, 0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 120),
)
TASK_FAILURES = Counter(
    "dp_task_failures", "Celery tasks that raised, by task.", ["task"]
)


class QueueCollector:
    """Backlog and rank-set size, read from Redis at each scrape."""

    def __init__(self, broker, redis):
        self._broker = broker
        self._redis = redis

    def collect(self):
        for name, text, read in (
            ("dp_report_backlog", "Reports queued, not yet applied.",
             lambda: queue.backlog(self._broker)),
            ("dp_rank_set_size", "Users in the live rank set.",
             lambda: self._redis.zcard(ranks.RANK)),
        ):  # fmt: skip
            try:
                value = read()
            except RedisError:
                continue
            yield GaugeMetricFamily(name, text, value=value)


def scrape(broker, redis) -> tuple[bytes, str]:
    """The exposition text: this process's samples, or every process's."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    live = CollectorRegistry()
    live.register(QueueCollector(broker, redis))
    return generate_latest(registry) + generate_latest(live), (
        CONTENT_TYPE_LATEST
    )
