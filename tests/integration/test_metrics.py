import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.integration.stack import wait_until

pytestmark = pytest.mark.integration


def _total(stack, name: str, **labels) -> float:
    text = stack.http.get(stack.base_url + "/metrics", timeout=10).text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
        and set(labels.items()) <= set(sample.labels.items())
    )


def test_metrics_add_up_the_web_and_celery_processes(stack):
    (user,) = stack.create_users("Asia/Kolkata")
    walk = user.select_action(stack.actions[0])
    applied = _total(stack, "dp_reports_applied_total")
    drains = _total(
        stack, "dp_task_seconds_count", task="workers.tasks.drain_reports"
    )

    user.report("action", walk, state="completed")
    user.wait_for_today("the report", actions_completed=1)

    wait_until(
        lambda: _total(stack, "dp_reports_applied_total") >= applied + 1,
        "the workers' applied count to reach /metrics",
    )
    # The drain counts its reports before it ends and records its time.
    wait_until(
        lambda: (
            _total(
                stack,
                "dp_task_seconds_count",
                task="workers.tasks.drain_reports",
            )
            > drains
        ),
        "a finished drain to reach /metrics",
    )
    assert _total(stack, "dp_reports_accepted_total", kind="action") >= 1
    assert _total(stack, "dp_rank_set_size") >= 1
