"""``mc-verify target check``: the non-destructive preflight of the target contract.

One row per capability (the safety fence, the admin secret, control reads, the control API,
metrics, the data plane, experiments) with what to do for each miss; exit 0 when everything
the plan needs is there, 3 when the target cannot be rehearsed as it is
(docs/target-contract.md, "Preflight"). `mc-verify run` and `mc-verify bake` run it first.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import click

from pytest_mc.cli.options import catalog_option
from pytest_mc.drivers.target_check import require_target_contract
from pytest_mc.policy.catalog import load_catalog
from pytest_mc.reporting.target_check_table import print_target_check
from pytest_mc.settings import LOCAL_TARGET
from pytest_mc.target.loader import load_profile
from pytest_mc.target.local import start_local_staging, stop_local_staging


@click.group(name="target")
def target() -> None:
    """The target: check that it offers what the plan's scenarios need."""


@target.command(name="check")
@click.option(
    "--target",
    "target_path",
    default=LOCAL_TARGET,
    show_default=True,
    help="Target profile YAML, or 'local' to check a reference staging started for the check.",
)
@catalog_option()
def check_command(target_path: str, catalog_path: Path | None) -> None:
    """Check every capability of the target contract, changing nothing; exit 3 on a miss."""
    catalog = load_catalog(catalog_path)
    if target_path != LOCAL_TARGET:
        require_target_contract(load_profile(Path(target_path), catalog), print_target_check)
        return
    with tempfile.TemporaryDirectory(prefix="mc-target-check-") as work:
        staging = start_local_staging(Path(work) / "staging")
        try:
            require_target_contract(load_profile(staging.profile_path, catalog), print_target_check)
        finally:
            stop_local_staging(staging)
