"""`mc-verify dod [BUNDLE]`: the Definition of Done table, or the week-5 decision report.

The bundle (default: the newest `evidence-*.json` in `dist/`) is verified in full first,
signer included (`--public-key`, `$MC_TRUSTED_KEYS`); a tampered or invalid bundle, or one
whose signer is not trusted, is refused with one `error:` line (exit 2). Exit 0 only when every
DoD item is met on evidence at time scale 1; exit 1 when an item is unmet or the evidence is
a rehearsal. With `--decision`: exit 0 for "expand", 1 for "hold".
"""

from __future__ import annotations

from pathlib import Path

import click

from pytest_mc.cli.options import catalog_option, public_key_option
from pytest_mc.dod.decision import Week5Decision, decide
from pytest_mc.dod.evidence import from_bundle
from pytest_mc.dod.items import evaluate_dod
from pytest_mc.errors import BundleError
from pytest_mc.evidence.signing import TrustedKeys
from pytest_mc.policy.catalog import load_catalog
from pytest_mc.reporting.decision_markdown import decision_markdown
from pytest_mc.reporting.dod_table import print_dod
from pytest_mc.settings import DEFAULT_OUT

DECISION_JSON = "week5-decision.json"
DECISION_MARKDOWN = "week5-decision.md"


def newest_bundle(directory: Path) -> Path:
    """The most recently written evidence bundle in `directory` (signatures excluded).

    A bundle a session published has its chain beside it (`evidence-R.chain.jsonl`); such
    bundles are preferred, so a derived or copied bundle written into the same directory (one
    with no chain of its own) is not taken for the run's bundle. Without any, every bundle
    counts.
    """
    candidates = (
        [
            path
            for path in directory.glob("evidence-*.json")
            if path.is_file() and not path.name.endswith(".dsse.json")
        ]
        if directory.is_dir()
        else []
    )
    if not candidates:
        raise BundleError(
            f"no evidence bundle (evidence-*.json) in {directory}/; pass BUNDLE, or write one "
            f"with `mc-verify run`"
        )
    published = [path for path in candidates if path.with_suffix(".chain.jsonl").is_file()]
    return max(published or candidates, key=lambda path: (path.stat().st_mtime_ns, path.name))


@click.command(name="dod")
@click.argument("bundle", required=False, type=click.Path(path_type=Path, dir_okay=False))
@catalog_option(
    "QI catalog the bundle was made against, for verification (default: the shipped "
    "catalog). DoD items are always judged against the frozen catalog v1."
)
@public_key_option()
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option(
    "--decision",
    is_flag=True,
    help="Print the week-5 decision (expand the autonomy pilot or hold) instead of the table.",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help=f"With --decision: also write {DECISION_JSON} and {DECISION_MARKDOWN} into this "
    "directory.",
)
def dod(
    bundle: Path | None,
    catalog_path: Path | None,
    trusted: TrustedKeys,
    as_json: bool,
    decision: bool,
    out_dir: Path | None,
) -> int:
    """Judge the plan's Definition of Done from BUNDLE (default: newest bundle in dist/)."""
    if out_dir is not None and not decision:
        raise click.UsageError("--out writes the decision report: use it with --decision")
    path = bundle if bundle is not None else newest_bundle(Path(DEFAULT_OUT))
    frozen = load_catalog()
    verifying = frozen if catalog_path is None else load_catalog(catalog_path)
    evidence, verification = from_bundle(path, verifying, trusted=trusted)
    for warning in verification.warnings:
        click.echo(f"warning: {warning}", err=True)
    if decision:
        return _decision(decide(evidence, frozen), as_json, out_dir)
    report = evaluate_dod(evidence, frozen)
    if as_json:
        click.echo(report.model_dump_json(indent=2))
    else:
        print_dod(report)
    code = 0 if report.met else 1
    click.echo(f"mc-verify dod: exit {code} ({report.summary})", err=as_json)
    return code


def write_decision_files(report: Week5Decision, out_dir: Path) -> Path:
    """Write the decision as JSON and Markdown into `out_dir`; returns the Markdown path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / DECISION_JSON).write_text(report.model_dump_json(indent=2) + "\n", encoding="utf-8")
    (out_dir / DECISION_MARKDOWN).write_text(decision_markdown(report), encoding="utf-8")
    return out_dir / DECISION_MARKDOWN


def decide_from_bundle(bundle: Path, out_dir: Path, *, trusted: TrustedKeys) -> Week5Decision:
    """Verify `bundle` (signed by a key in `trusted`), decide week 5 from it and write the
    report files into `out_dir`.

    One load of the frozen catalog serves both the verification and the decision.
    """
    frozen = load_catalog()
    evidence, _ = from_bundle(bundle, frozen, trusted=trusted)
    report = decide(evidence, frozen)
    write_decision_files(report, out_dir)
    return report


def _decision(report: Week5Decision, as_json: bool, out_dir: Path | None) -> int:
    markdown = decision_markdown(report)
    document = report.model_dump_json(indent=2)
    if out_dir is not None:
        write_decision_files(report, out_dir)
    click.echo(document if as_json else markdown.rstrip("\n"))
    code = 0 if report.decision == "expand" else 1
    click.echo(f"mc-verify dod --decision: exit {code} ({report.decision})", err=True)
    return code
