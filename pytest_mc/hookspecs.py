"""Hooks pytest-mc adds to pytest (registered in `pytest_addhooks`).

Implement them in a conftest.py or plugin to follow the evidence as it is written, for
example to stream measurements to a dashboard. They fire in the process that appended the
record (an xdist worker or the controller); `pytest_mc_bundle_written` fires only in the
controller.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from pathlib import Path

    from pytest_mc.evidence.bundle import EvidenceBundle
    from pytest_mc.evidence.records import (
        Artifact,
        ChainRecord,
        Measurement,
        TripwireObservation,
    )


@pytest.hookspec
def pytest_mc_measurement_recorded(
    config: pytest.Config, record: ChainRecord, measurement: Measurement
) -> None:
    """A measurement was judged against the QI catalog and acknowledged by the chain."""


@pytest.hookspec
def pytest_mc_tripwire_observed(
    config: pytest.Config, record: ChainRecord, observation: TripwireObservation
) -> None:
    """A tripwire observation (condition, expected and observed action) was acknowledged."""


@pytest.hookspec
def pytest_mc_artifact_recorded(
    config: pytest.Config, record: ChainRecord, artifact: Artifact, path: Path
) -> None:
    """An artifact was stored at `path` (content-addressed, redacted) and acknowledged."""


@pytest.hookspec
def pytest_mc_scenario_evidence_complete(
    config: pytest.Config, nodeid: str, tenant: str | None, outcome: str
) -> None:
    """A scenario ended and its last record (scenario_finished) was acknowledged."""


@pytest.hookspec
def pytest_mc_bundle_written(config: pytest.Config, path: Path, bundle: EvidenceBundle) -> None:
    """The evidence bundle was materialized, validated, written and signed (controller only)."""
