"""Steps about the QI catalog itself: frozen, intact, reviewed and referenced (plan §C, DoD)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from pytest_bdd import given, parsers, then

from pytest_mc.evidence.chain import read_chain, verify_chain
from pytest_mc.evidence.records import RunStarted
from pytest_mc.fixtures import McEvidence
from pytest_mc.policy.catalog import QiCatalog, catalog_digest, review_warning


@given("the QI catalog the suite judges against", target_fixture="qi_catalog")
def _the_catalog(mc_catalog: QiCatalog) -> QiCatalog:
    return mc_catalog


@then(parsers.parse('its status is "{status}" at version "{version}"'))
def _status(qi_catalog: QiCatalog, status: str, version: str) -> None:
    found = (qi_catalog.status, qi_catalog.version)
    assert found == (status, version), (
        f"QI catalog is {found}, the plan requires {status} {version}"
    )


@then(parsers.parse("its review is due {days:d} days after its freeze date"))
def _review_due(qi_catalog: QiCatalog, days: int) -> None:
    expected = qi_catalog.frozen_on + timedelta(days=days)
    assert qi_catalog.review_due == expected, (
        f"review due {qi_catalog.review_due}, expected {expected} (frozen {qi_catalog.frozen_on})"
    )


@then("an overdue review is reported as a warning, not hidden")
def _overdue_is_reported(qi_catalog: QiCatalog, request: pytest.FixtureRequest) -> None:
    warning = review_warning(qi_catalog, date.today())
    if warning is not None:
        request.node.warn(pytest.PytestWarning(warning))


@then("its digest is the RFC 8785 digest of its content")
def _digest(qi_catalog: QiCatalog) -> None:
    recomputed = catalog_digest(qi_catalog)
    assert recomputed == qi_catalog.digest, f"digest {qi_catalog.digest} != content {recomputed}"


@then("the catalog is attached to the evidence as YAML and as JSON")
def _attached(qi_catalog: QiCatalog, mc_evidence: McEvidence) -> None:
    yaml_artifact = mc_evidence.attach(
        mc_evidence.catalog_path, name=f"qi-catalog-{qi_catalog.version}.yaml", kind="report"
    )
    json_artifact = mc_evidence.attach(
        qi_catalog.model_dump_json(indent=2).encode(),
        name=f"qi-catalog-{qi_catalog.version}.json",
        kind="json",
    )
    assert yaml_artifact.size_bytes > 0
    assert json_artifact.size_bytes > 0


@then("the evidence of this run references the catalog by version and digest")
def _referenced(qi_catalog: QiCatalog, mc_evidence: McEvidence) -> None:
    chain = mc_evidence.chain_path
    records = verify_chain(read_chain(chain).records, where=chain.name)
    runs = [r.body for r in records if isinstance(r.body, RunStarted)]
    assert runs, f"no run_started record in {chain}"
    reference = runs[-1].catalog
    assert (reference.version, reference.digest) == (qi_catalog.version, qi_catalog.digest), (
        f"run references catalog {reference.version} {reference.digest}, "
        f"judged against {qi_catalog.version} {qi_catalog.digest}"
    )
