"""`mc-verify evidence validate|verify|show|merge`: read, prove and combine evidence bundles."""

from __future__ import annotations

from pathlib import Path

import click

from pytest_mc.cli.options import catalog_option
from pytest_mc.evidence.bundle import read_bundle
from pytest_mc.evidence.merge import merge_bundles
from pytest_mc.evidence.signing import (
    generate_signing_key,
    key_id,
    load_public_key,
    load_signing_key,
)
from pytest_mc.evidence.verify import verify_bundle
from pytest_mc.policy.catalog import load_catalog
from pytest_mc.reporting.summary import print_summary

_BUNDLE = click.argument("bundle", type=click.Path(path_type=Path, dir_okay=False))
_CATALOG = catalog_option(
    "QI catalog the bundle was judged against (default: the shipped catalog)."
)


@click.group(name="evidence")
def evidence() -> None:
    """Validate, verify, show and merge evidence bundles."""


@evidence.command()
@_BUNDLE
def validate(bundle: Path) -> None:
    """Check BUNDLE against schemas/evidence-bundle.schema.json only."""
    loaded = read_bundle(bundle)
    records = sum(len(chain.records) for chain in loaded.chains)
    click.echo(f"{bundle}: valid against the evidence-bundle schema ({records} records)")


@evidence.command()
@_BUNDLE
@_CATALOG
@click.option(
    "--public-key",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="PEM Ed25519 public key the bundle must be signed with.",
)
def verify(bundle: Path, catalog_path: Path | None, public_key: Path | None) -> None:
    """Prove BUNDLE complete and untampered: schema, chain, views, artifacts, signature."""
    trusted = load_public_key(public_key) if public_key is not None else None
    report = verify_bundle(bundle, load_catalog(catalog_path), trusted_public_key=trusted)
    click.echo(
        f"{bundle}: verified — schema, {report.records} chained records in "
        f"{len(report.bundle.chains)} chain(s), views, {report.artifacts} artifacts, "
        f"signature {report.signature.keyid}"
    )
    for warning in report.warnings:
        click.echo(f"warning: {warning}", err=True)


@evidence.command()
@_BUNDLE
@click.option("--json", "as_json", is_flag=True, help="Print the bundle's views as JSON.")
def show(bundle: Path, as_json: bool) -> None:
    """Summarise BUNDLE: runs, tenant sections, DoD table."""
    loaded = read_bundle(bundle)
    if as_json:
        click.echo(loaded.model_dump_json(indent=2, exclude={"chains"}))
        return
    print_summary(loaded)


@evidence.command()
@click.argument("bundles", nargs=-1, required=True, type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "-o",
    "--out",
    "output",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="Where to write the merged bundle (artifacts are copied beside it).",
)
@_CATALOG
@click.option(
    "--signing-key",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="PEM Ed25519 key to sign the merged bundle (default: ephemeral, marked so).",
)
def merge(
    bundles: tuple[Path, ...], output: Path, catalog_path: Path | None, signing_key: Path | None
) -> None:
    """Merge the bundles of several CI jobs (one per tenant) into one signed bundle."""
    merged = merge_bundles(
        list(bundles), output, load_catalog(catalog_path), load_signing_key(signing_key)
    )
    click.echo(
        f"{output}: merged {len(bundles)} bundles, {len(merged.chains)} chain(s), tenants "
        f"{', '.join(merged.tenants) or '(none)'}"
    )


@evidence.command()
@click.argument("key", type=click.Path(path_type=Path, dir_okay=False))
def keygen(key: Path) -> None:
    """Create an Ed25519 signing key KEY (and KEY's .pub.pem) for --signing-key."""
    public = generate_signing_key(key)
    click.echo(
        f"{key}: signing key {key_id(load_public_key(public))} (keep it private); give "
        f"{public} to whoever verifies (mc-verify evidence verify --public-key)"
    )
