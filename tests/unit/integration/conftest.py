"""Fixtures of the §C integration tests: the catalog and a published rehearsal bundle."""

from __future__ import annotations

from pathlib import Path

import pytest
from integration_helpers import publish_expansion

from pytest_mc.policy.catalog import QiCatalog, load_catalog


@pytest.fixture(scope="session")
def catalog() -> QiCatalog:
    return load_catalog()


@pytest.fixture
def published_bundle(tmp_path: Path, catalog: QiCatalog) -> Path:
    """A rehearsal bundle (time scale 600) signed with an ephemeral key, whose public key is
    beside it (`signer_of`)."""
    return publish_expansion(tmp_path / "dist", catalog, time_scale=600)
