"""`mc-verify evidence validate|verify|show|merge`: read, prove and combine evidence bundles."""

from __future__ import annotations

from pathlib import Path

import click

from pytest_mc.cli.options import catalog_option, public_key_option
from pytest_mc.evidence.bundle import read_bundle
from pytest_mc.evidence.merge import merge_bundles
from pytest_mc.evidence.signing import (
    TRUST_ENV,
    TrustedKeys,
    generate_signing_key,
    key_id,
    load_public_key,
    load_signing_key,
)
from pytest_mc.evidence.verify import ChainForensics, verify_bundle, verify_chain_file
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
@click.argument("bundle", required=False, type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--chain",
    "chain_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Check a raw chain file (evidence-RELEASE.chain.jsonl, what a crashed run leaves) "
    "instead of a bundle: how many records form its valid prefix, and what never finished.",
)
@_CATALOG
@public_key_option()
def verify(
    bundle: Path | None, chain_path: Path | None, catalog_path: Path | None, trusted: TrustedKeys
) -> None:
    """Prove BUNDLE complete, untampered and signed by a key you trust: schema, chain, views,
    artifacts, signature. With --chain FILE: check a raw chain file instead."""
    if (bundle is None) == (chain_path is None):
        raise click.UsageError("pass BUNDLE, or --chain FILE for a raw chain file (not both)")
    if chain_path is not None:
        _report_chain(chain_path, verify_chain_file(chain_path, load_catalog(catalog_path)))
        return
    assert bundle is not None
    report = verify_bundle(bundle, load_catalog(catalog_path), trusted=trusted)
    click.echo(
        f"{bundle}: verified — schema, {report.records} chained records in "
        f"{len(report.bundle.chains)} chain(s), views, {report.artifacts} artifacts, "
        f"signature by trusted key {report.signature.keyid}"
        + (
            f", {len(report.attestations)} attestations "
            f"({', '.join(a.predicate_type for a in report.attestations)})"
            if report.attestations
            else ""
        )
    )
    for warning in report.warnings:
        click.echo(f"warning: {warning}", err=True)


def _report_chain(path: Path, forensics: ChainForensics) -> None:
    scan = forensics.scan
    last = scan.records[-1] if scan.records else None
    head = f" (head seq {last.seq}, hash {last.hash[:12]}…)" if last is not None else ""
    click.echo(
        f"{path}: the first {len(scan.records)} records form a valid chain{head}; a chain file "
        f"is not signed: this proves its records are consistent, not who wrote them"
    )
    views = forensics.views
    if views is not None:
        sections = [*views.tenants.values(), views.run_wide]
        for run in views.runs:
            if run.finished_at is not None:
                continue
            incomplete = [
                s.nodeid
                for section in sections
                for s in section.scenarios
                if s.run_id == run.run_id and s.outcome == "incomplete"
            ]
            shown = f": scenario(s) never finished: {', '.join(incomplete)}" if incomplete else ""
            click.echo(
                f"run {run.run_id} (started {run.started_at.isoformat(timespec='seconds')}) has "
                f"no run_finished record: it crashed, was killed or is still running{shown}"
            )
    elif forensics.unsummarised is not None:
        click.echo(f"runs not summarised: {forensics.unsummarised}")
    if scan.torn_line is not None:
        click.echo(
            f"warning: line {scan.torn_line} is torn ({scan.torn_bytes} bytes, no newline): a "
            f"writer died mid-record; that record was never acknowledged, and the next writer "
            f"cuts it off",
            err=True,
        )


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
@public_key_option()
@click.option(
    "--signing-key",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="PEM Ed25519 key to sign the merged bundle (default: ephemeral, marked so).",
)
def merge(
    bundles: tuple[Path, ...],
    output: Path,
    catalog_path: Path | None,
    trusted: TrustedKeys,
    signing_key: Path | None,
) -> None:
    """Merge the bundles of several CI jobs (one per tenant) into one signed bundle. Every
    input must verify and be signed by a key you trust (--public-key, $MC_TRUSTED_KEYS)."""
    merged = merge_bundles(
        list(bundles),
        output,
        load_catalog(catalog_path),
        load_signing_key(signing_key),
        trusted=trusted,
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
        f"{public} to whoever verifies (mc-verify evidence verify --public-key {public}, or "
        f"list it in ${TRUST_ENV})"
    )
