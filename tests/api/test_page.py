"""The progress page and its files: served without a token, self-contained.

The page in a browser is tested in tests/integration/test_page.py.
"""

import re

from api.page import STATIC
from tests.api.conftest import assert_error


def test_the_progress_page_is_served_without_a_token(client):
    response = client.simulate_get("/progress/")

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert 'id="token-form"' in response.text
    policy = response.headers["content-security-policy"]
    assert "default-src 'self'" in policy
    assert "script-src 'self'" in policy


def test_progress_without_its_slash_redirects_to_the_page(client):
    response = client.simulate_get("/progress")

    assert response.status_code == 301
    assert response.headers["location"] == "/progress/"


def test_static_files_are_served_with_their_types(client):
    for name, kind in (
        ("app.js", "text/javascript"),
        ("chart.umd.min.js", "text/javascript"),
        ("style.css", "text/css"),
        ("chart.js-LICENSE.md", "text/plain"),
    ):
        response = client.simulate_get(f"/static/{name}")
        assert response.status_code == 200, name
        assert response.headers["content-type"].startswith(kind), name
        assert response.content == (STATIC / name).read_bytes()


def test_only_the_pages_files_are_served(client):
    for path in (
        "/static/nothing.js",
        "/static/index.html",
        "/static/..%2Fpage.py",
        "/static/",
    ):
        assert_error(client.simulate_get(path), 404)


def test_a_current_copy_is_answered_not_modified(client):
    first = client.simulate_get("/static/style.css")
    again = client.simulate_get(
        "/static/style.css", headers={"If-None-Match": first.headers["etag"]}
    )

    assert first.headers["cache-control"] == "no-cache"
    assert again.status_code == 304
    assert again.content == b""


def test_the_page_loads_nothing_from_elsewhere():
    page = (STATIC / "index.html").read_text()
    links = re.findall(r'(?:src|href)="([^"]*)"', page)

    assert links
    assert all(link.startswith(("/static/", "#", "data:")) for link in links)
    assert "http" not in (STATIC / "app.js").read_text()
