"""Schemathesis against the running service, from its own /openapi.json.

Every operation of the document gets requests that fit it and requests
that do not, sent by a user who selected a goal and an action and has
day rows, so that some generated ids are theirs. Every answer must be
below 500 and match the document: a listed status code, its content
type and its schema.

`make test` sends a few hundred requests, always the same ones;
`make fuzz` sets FUZZ_EXAMPLES and sends thousands, new ones each run.
"""

import os
from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode, checks, errors

from tests.integration.stack import ApiUser, Stack, local_time

pytestmark = pytest.mark.integration

# Per operation and mode; about 48 requests per unit over the document.
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "5"))
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
]


ME = "/api/users/me/"


@pytest.fixture(scope="module")
def fuzz_users(stack: Stack) -> tuple[ApiUser, ApiUser, dict[str, list]]:
    """A user with a goal, an action, a custom action and two day rows.

    Returns that user; another one, who never reports, for ME (a ranked
    user whose time zone moved might no longer find their rank's
    engagement on their newest row, which the rank checks of other tests
    read); and per item path of the document, the first user's ids.
    """
    user, mover = stack.create_users("Europe/Berlin", "Europe/Berlin")
    user.select_goal(stack.goal)
    walk = user.select_action(stack.actions[0])
    own = user.custom_action("Fuzz")
    user.report("action", walk)
    user.report("customaction", own, occurred_at=local_time(user.timezone, 1))
    stack.settle()
    rows = [row["id"] for row in user.rows()]
    assert len(rows) == 2
    me = "/api/users"
    return (
        user,
        mover,
        {
            f"{me}/goals/{{item_id}}/": [stack.goal],
            f"{me}/actions/{{item_id}}/": [walk],
            f"{me}/actions/{{item_id}}/complete/": [walk],
            f"{me}/customactions/{{item_id}}/": [own],
            f"{me}/customactions/{{item_id}}/complete/": [own],
            f"{me}/progress/{{item_id}}/": rows,
        },
    )


def operations(schema) -> list:
    """The document's operations, deletions last: the ids live longest."""
    found = [result.ok() for result in schema.get_all_operations()]
    return sorted(found, key=lambda op: op.method.lower() == "delete")


def cases(operation, mode: GenerationMode, ids: list[int]):
    """Generated cases; for an item path, half of them on the user's ids."""
    generated = operation.as_strategy(mode)
    if not ids:
        return generated
    owned = st.sampled_from(ids).flatmap(
        lambda item: operation.as_strategy(
            mode, path_parameters={"item_id": item}
        )
    )
    return st.one_of(generated, owned)


def exchange(stack: Stack, strategy, token: str, sent: list) -> None:
    """Sends what `strategy` makes; fails at the first bad answer."""
    headers = {"Authorization": f"Token {token}"}

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize="FUZZ_EXAMPLES" not in os.environ,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def one(case):
        response = case.call(
            base_url=stack.base_url,
            session=stack.http,
            headers=headers,
            timeout=10,
        )
        sent.append(f"{case.operation.label} {response.status_code}")
        case.validate_response(response, checks=CHECKS, headers=headers)

    one()


def test_every_answer_is_below_500_and_as_documented(stack, fuzz_users):
    user, mover, known = fuzz_users
    schema = schemathesis.openapi.from_url(stack.base_url + "/openapi.json")
    sent: list[str] = []
    failures: list[str] = []

    for operation in operations(schema):
        token = (mover if operation.path == ME else user).token
        for mode in GenerationMode:
            strategy = cases(operation, mode, known.get(operation.path))
            try:
                exchange(stack, strategy, token, sent)
            except Unsatisfiable:
                assert mode == GenerationMode.NEGATIVE, operation.label
                # Nothing in the operation can be made invalid (no
                # parameters and no body, or only free strings).
            except (Exception, errors.FailureGroup) as exc:
                report = str(exc)
                failures.append(f"{operation.label} ({mode}): {report[:3000]}")

    print(f"schemathesis sent {len(sent)} requests:")
    for answer, times in sorted(Counter(sent).items()):
        print(f"{times:6d}  {answer}")
    assert not failures, "\n\n".join(failures)
    assert len(sent) >= 40 * EXAMPLES
    stack.settle()  # every report accepted was applied, none buried
