"""Policy: the frozen QI catalog every number comes from, and the three-valued verdict engine.

``catalog`` loads and digest-checks the catalog, ``verdict`` judges a measurement against one
QI, ``timewindow`` reads and writes plan-time durations. scipy is imported only when a rate is
judged, so importing this package stays cheap.
"""

from __future__ import annotations

from pytest_mc.policy.catalog import (
    DEFAULT_CATALOG_PATH,
    CatalogReference,
    QiCatalog,
    QiDefinition,
    canonical_digest,
    catalog_reference,
    load_catalog,
    review_warning,
)
from pytest_mc.policy.timewindow import format_duration, parse_duration

__all__ = [
    "DEFAULT_CATALOG_PATH",
    "CatalogReference",
    "QiCatalog",
    "QiDefinition",
    "canonical_digest",
    "catalog_reference",
    "format_duration",
    "load_catalog",
    "parse_duration",
    "review_warning",
]
