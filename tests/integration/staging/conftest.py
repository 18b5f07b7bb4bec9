"""The module-scoped `staging` fixture: one real reference staging per test module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from staging_harness import Staging, start_staging, stop_staging


@pytest.fixture(scope="module")
def staging(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Staging]:
    target = start_staging(tmp_path_factory.mktemp("staging"))
    try:
        yield target
    finally:
        stop_staging(target)
