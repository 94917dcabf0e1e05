"""One running service for the whole integration session."""

import pytest

from tests.integration.stack import running_stack


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    with running_stack(tmp_path_factory.mktemp("stack")) as service:
        yield service
