"""``mc-verify qi show|verify``: read the QI catalog and prove it is intact.

Errors are raised as :class:`~pytest_mc.errors.CatalogError` for ``main`` to print as one line
with exit code 2; an overdue review is a ``warning:`` on stderr and leaves the exit code at 0.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click

from pytest_mc.cli.options import catalog_option
from pytest_mc.errors import CatalogError
from pytest_mc.policy.catalog import (
    DEFAULT_CATALOG_PATH,
    DRAFT_CATALOG,
    QiCatalog,
    QiDefinition,
    load_catalog,
    review_warning,
)
from pytest_mc.policy.timewindow import format_duration

_CATALOG_OPTION = catalog_option(
    f"QI catalog YAML (default: the packaged {DEFAULT_CATALOG_PATH.name}); a published "
    "version or a DRAFT under a version of its own."
)


@click.group(name="qi")
def qi() -> None:
    """Show and verify the frozen QI catalog every verdict is judged against."""


@qi.command(name="show")
@click.option("--json", "as_json", is_flag=True, help="Print the whole catalog as JSON.")
@_CATALOG_OPTION
def show(as_json: bool, catalog_path: Path | None) -> None:
    """List every QI with its rule, window, plan section and owner."""
    catalog = load_catalog(catalog_path)
    if as_json:
        click.echo(catalog.model_dump_json(indent=2))
    else:
        click.echo(_table(catalog))
    _warn_if_overdue(catalog)


@qi.command(name="verify")
@_CATALOG_OPTION
def verify(catalog_path: Path | None) -> None:
    """Check that the catalog is a published version, FROZEN and unchanged (exit 0 if so)."""
    catalog = load_catalog(catalog_path)
    source = catalog_path if catalog_path is not None else DEFAULT_CATALOG_PATH
    if catalog.status != "FROZEN":
        raise CatalogError(
            f"QI catalog {catalog.version} ({source}) is DRAFT, not FROZEN: evidence judged "
            f"against it is labelled {DRAFT_CATALOG} and cannot satisfy a DoD item; publish it "
            "as a new version (see docs/qi-catalog.md)"
        )
    click.echo(
        f"QI catalog {catalog.version} FROZEN and intact: {catalog.digest} "
        f"({len(catalog.qis)} QIs, frozen {catalog.frozen_on.isoformat()}, "
        f"review due {catalog.review_due.isoformat()})"
    )
    _warn_if_overdue(catalog)


def _warn_if_overdue(catalog: QiCatalog) -> None:
    warning = review_warning(catalog, date.today())
    if warning is not None:
        click.echo(f"warning: {warning}", err=True)


def _rule(qi: QiDefinition) -> str:
    unit = {"seconds": "s", "days": " days", "count": "", "fraction": "", "ratio": ""}[qi.unit]
    target = format_duration(qi.target) if qi.unit == "seconds" else f"{qi.target:g}{unit}"
    if qi.unit == "fraction":
        target = f"{qi.target * 100:g}%"
    rule = f"{qi.comparator} {target}"
    if qi.kind == "rate":
        confidence = qi.confidence if qi.confidence is not None else 0.95
        rule += f" ({confidence * 100:g}% bound)"
    if qi.weight is not None:
        rule += f" at weight {qi.weight:g}"
    if qi.action:
        rule += f" → {qi.action}"
    return rule


def _table(catalog: QiCatalog) -> str:
    header = (
        f"QI catalog {catalog.version} {catalog.status}, frozen {catalog.frozen_on.isoformat()}, "
        f"review due {catalog.review_due.isoformat()}\n{catalog.digest}\n"
    )
    rows = [("id", "kind", "rule", "window", "plan", "R/A", "DoD")]
    for qi in catalog.qis:
        window = format_duration(qi.window_seconds) if qi.window_seconds else "-"
        rows.append(
            (
                qi.id,
                qi.kind,
                _rule(qi),
                window,
                qi.plan_section,
                f"{qi.owner}/{qi.accountable}",
                "yes" if qi.dod else "",
            )
        )
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    return header + "\n" + "\n".join(lines)
