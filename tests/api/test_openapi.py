import re

from falcon import inspect
from openapi_spec_validator import validate

from api.openapi import document


def _app_routes(app) -> set[tuple[str, str]]:
    found = set()
    for route in inspect.inspect_routes(app):
        path = re.sub(r"\{(\w+):[^}]*\}", r"{\1}", route.path)
        for method in route.methods:
            if not method.internal:
                found.add((path, method.method.lower()))
    return found


def _documented(doc) -> set[tuple[str, str]]:
    return {
        (path, method)
        for path, operations in doc["paths"].items()
        for method in operations
    }


def test_openapi_document_is_valid_openapi_3():
    validate(document())


def test_every_route_of_the_app_is_documented_and_nothing_more(client):
    assert _app_routes(client.app) == _documented(document())


def test_openapi_document_is_served_without_a_token(client):
    response = client.simulate_get("/openapi.json")
    assert response.status_code == 200
    assert response.json == document()
