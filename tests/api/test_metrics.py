from prometheus_client.parser import text_string_to_metric_families


def _samples(client) -> dict:
    response = client.simulate_get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    found = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            key = (sample.name, tuple(sorted(sample.labels.items())))
            found[key] = sample.value
    return found


def _total(samples: dict, name: str, **labels) -> float:
    return sum(
        value
        for (found, found_labels), value in samples.items()
        if found == name and set(labels.items()) <= set(found_labels)
    )


def test_metrics_move_with_reports_requests_and_the_queue(client, world):
    user = world.user(timezone="Europe/Berlin")
    target = user.select_action(world.action())
    path = f"/api/users/actions/{target}/complete/"
    before = _samples(client)

    assert user.post(path, json={"state": "snoozed"}).status_code == 202
    assert user.post(path, json={"state": "nope"}).status_code == 400
    assert user.post(path + "x/").status_code == 404
    queued = _samples(client)
    world.drain()
    after = _samples(client)

    def moved(name, **labels):
        return _total(after, name, **labels) - _total(before, name, **labels)

    assert moved("dp_reports_accepted_total", kind="action") == 1
    assert moved("dp_reports_rejected_total", status="400") == 1
    assert moved("dp_reports_applied_total") == 1
    assert moved("dp_http_requests_total", method="POST", status="202") == 1
    assert moved("dp_http_requests_total", route="unmatched") == 1
    assert moved("dp_http_request_seconds_count", method="POST") >= 3
    assert _total(queued, "dp_report_backlog") == 1
    assert _total(after, "dp_report_backlog") == 0
    assert _total(after, "dp_rank_set_size") == 1


def test_metrics_need_no_token(client):
    assert client.simulate_get("/metrics").status_code == 200
