from collections.abc import Iterator

import pytest

from tests.alerts.hook import Hook


@pytest.fixture
def hook() -> Iterator[Hook]:
    h = Hook()
    yield h
    h.close()
