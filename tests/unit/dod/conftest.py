"""Fixtures of the DoD tests: the frozen catalog, bundles built from a `Plan`, the CLI."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from dod_helpers import CliResult, Plan, build_bundle

from pytest_mc.cli.main import main
from pytest_mc.evidence.signing import TRUST_ENV
from pytest_mc.policy.catalog import QiCatalog, load_catalog


@pytest.fixture(scope="session")
def catalog() -> QiCatalog:
    return load_catalog()


@pytest.fixture(autouse=True)
def no_ambient_trust(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test inherits a trust list from the environment it runs in."""
    monkeypatch.delenv(TRUST_ENV, raising=False)


@pytest.fixture
def bundle_of(tmp_path: Path, catalog: QiCatalog) -> Callable[[Plan], Path]:
    """Build and publish a bundle for a plan, each in a directory of its own."""
    made = iter(range(1_000))

    def build(plan: Plan) -> Path:
        return build_bundle(tmp_path / f"job-{next(made)}" / "dist", catalog, plan)

    return build


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., CliResult]:
    """`mc-verify ARGS...` in-process: exit code, stdout and stderr."""

    def call(*args: str | Path) -> CliResult:
        capsys.readouterr()
        code = main([str(arg) for arg in args])
        captured = capsys.readouterr()
        return CliResult(code=code, out=captured.out, err=captured.err)

    return call
