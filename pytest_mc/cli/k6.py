"""``mc-verify k6 ...``: k6 helpers; ``operator-manifest`` writes a k6-operator TestRun,
``merge`` judges its runners' summaries as one run.

The manifest carries the same script variables and catalog-derived thresholds as the local
k6 driver, for a load that must be spread over several machines (docs/k6.md).
"""

from __future__ import annotations

from pathlib import Path

import click

from pytest_mc.cli.options import catalog_option
from pytest_mc.drivers.k6 import K6Driver
from pytest_mc.drivers.k6_merge import merge_summaries
from pytest_mc.drivers.k6_models import K6Load, parse_summary
from pytest_mc.drivers.k6_operator import operator_manifest
from pytest_mc.policy.catalog import load_catalog
from pytest_mc.policy.timewindow import parse_duration
from pytest_mc.target.loader import load_profile


@click.group(name="k6")
def k6() -> None:
    """k6 load for the plan's tenants: thresholds from the QI catalog, distributed runs."""


@k6.command(name="operator-manifest")
@click.option(
    "--target",
    "target_path",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="Target profile YAML (its glb_url and the tenant's SLO baseline are used).",
)
@click.option("--tenant", required=True, help="Tenant id, e.g. TENANT_004.")
@click.option("--parallelism", type=click.IntRange(min=1), default=4, show_default=True)
@click.option("--vus", type=click.IntRange(min=1, max=1000), default=40, show_default=True)
@click.option(
    "--duration",
    default="10m",
    show_default=True,
    help="Wall-clock bound of the run, like '30s', '10m', '1h'.",
)
@click.option(
    "--iterations",
    type=click.IntRange(min=1),
    default=None,
    help="Exactly this many requests in total (split over the pods), within --duration.",
)
@click.option("--adhoc-share", type=click.FloatRange(0, 1), default=0.0, show_default=True)
@click.option("--write-share", type=click.FloatRange(0, 1), default=0.5, show_default=True)
@click.option("--purpose", default="service", show_default=True)
@click.option(
    "--config-map",
    default="mc-k6-scripts",
    show_default=True,
    help="ConfigMap holding tenant-traffic.js (kubectl create configmap NAME --from-file=...).",
)
@click.option("--namespace", default=None, help="Namespace of the TestRun and the ConfigMap.")
@click.option("--name", default=None, help="TestRun name (default: mc-<tenant>-<run-id>).")
@click.option("--run-id", default="pytest-mc", show_default=True)
@catalog_option()
@click.option(
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Write the manifest here instead of stdout.",
)
def operator_manifest_command(
    target_path: Path,
    tenant: str,
    parallelism: int,
    vus: int,
    duration: str,
    iterations: int | None,
    adhoc_share: float,
    write_share: float,
    purpose: str,
    config_map: str,
    namespace: str | None,
    name: str | None,
    run_id: str,
    catalog_path: Path | None,
    output: Path | None,
) -> None:
    """Print a k6-operator TestRun running k6/tenant-traffic.js on PARALLELISM pods."""
    qi_catalog = load_catalog(catalog_path)
    profile = load_profile(target_path, qi_catalog)
    load = K6Load(
        vus=vus,
        duration_seconds=parse_duration(duration),
        iterations=iterations,
        adhoc_share=adhoc_share,
        write_share=write_share,
        purpose=purpose,
    )
    manifest = operator_manifest(
        profile,
        qi_catalog,
        tenant,
        load,
        parallelism=parallelism,
        config_map=config_map,
        namespace=namespace,
        name=name,
        run_id=run_id,
    )
    text = manifest.to_yaml()
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"wrote TestRun {manifest.metadata.name} to {output}", err=True)


@k6.command(name="merge")
@click.option(
    "--target",
    "target_path",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="Target profile YAML (the tenant's SLO baseline gives the thresholds).",
)
@click.option("--tenant", required=True, help="Tenant id the runners loaded, e.g. TENANT_004.")
@catalog_option()
@click.argument(
    "summaries",
    nargs=-1,
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
)
def merge_command(
    target_path: Path, tenant: str, catalog_path: Path | None, summaries: tuple[Path, ...]
) -> None:
    """Judge the thresholds over the merged counts of every runner's --summary-export file
    (the pods of one k6-operator TestRun); exit 1 when one is crossed over the whole run."""
    qi_catalog = load_catalog(catalog_path)
    profile = load_profile(target_path, qi_catalog)
    thresholds = K6Driver(profile, qi_catalog).thresholds(tenant)
    merged = merge_summaries([parse_summary(path, thresholds) for path in summaries], thresholds)
    click.echo(
        f"{len(summaries)} runner(s) of {tenant}: {merged.requests} requests, "
        f"{merged.failed_requests} failed"
    )
    for result in merged.thresholds:
        verdict = "passed" if result.passed else "CROSSED"
        click.echo(f"  {verdict:<8} {result.metric} {result.expression}  ({result.source})")
    if not merged.thresholds_passed:
        raise click.exceptions.Exit(1)
