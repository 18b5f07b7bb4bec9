"""The bundle as NIST OSCAL Assessment Results, for auditors' GRC tools.

One OSCAL *result* per run of the bundle. In each: an *observation* (method TEST) for every
measurement of a DoD item's QI or a validation gate that run recorded, its subject the tenant
(a component of the result's local definitions), its relevant evidence the chain record (by
chain, sequence number and hash) and the run's artifacts of the same scenario (by path and
sha256); then a *finding* per DoD item of the bundle (in the last run's result, since the
DoD table is judged over every run) and per validation gate and tenant, its target the QI as
an objective with status satisfied or not-satisfied. Rehearsal and draft-catalog labels are
carried as properties and remarks. Every UUID is a version-5 UUID over stable ids (release,
bundle digest, chain, sequence number, QI, tenant), and keys are written sorted, so the same
bundle always exports the same bytes.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from pytest_mc.drivers.gates import VALIDATION_GATES
from pytest_mc.evidence.bundle import DodRow, EvidenceBundle
from pytest_mc.evidence.records import Artifact, ChainRecord, Measurement

OSCAL_VERSION = "1.2.1"
NAMESPACE = uuid.UUID("5b0f3f0e-6a4e-5b8e-9a57-3c1d2f9e7a10")
PROPERTY_NS = "urn:pytest-mc"
PLAN = "urn:pytest-mc:plan:mc-v0.3-expansion-plan"
Json = dict[str, Any]


def _uuid(*parts: object) -> str:
    return str(uuid.uuid5(NAMESPACE, "\x1f".join(str(part) for part in parts)))


def _time(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _prop(name: str, value: object) -> dict[str, str]:
    text = value if isinstance(value, str) else json.dumps(value)
    return {"name": name, "ns": PROPERTY_NS, "value": text}


def assessment_results(bundle: EvidenceBundle, *, bundle_name: str, bundle_sha256: str) -> Json:
    """The OSCAL document (`{"assessment-results": ...}`) for `bundle`."""
    root = (bundle.release, bundle_sha256)
    labels = [_prop("rehearsal", bundle.rehearsal), _prop("draft-catalog", bundle.draft_catalog)]
    title = f"MC v0.3+ Expansion Plan verification, {bundle.release}"
    if bundle.rehearsal:
        title += " (REHEARSAL: compressed time, cannot satisfy a GA DoD item)"
    if bundle.draft_catalog:
        title += f" (DRAFT CATALOG {bundle.catalog.version})"
    dod_items = {row.qi_id for row in bundle.dod}
    chains = {chain.chain_id: chain for chain in bundle.chains}
    results: list[Json] = []
    for index, run in enumerate(bundle.runs):
        chain = chains.get(run.chain_id)
        records = chain.records if chain is not None else ()
        observations = _observations(
            records, root, run.chain_id, dod_items | set(VALIDATION_GATES), bundle_name
        )
        last = index == len(bundle.runs) - 1
        findings = _gate_findings(observations, root, run.run_id)
        if last:
            findings = _dod_findings(bundle.dod, observations, root) + findings
        tenants = sorted({o["tenant"] for o in observations if o["tenant"]})
        result: Json = {
            "uuid": _uuid(*root, "result", run.run_id),
            "title": f"Run {run.run_id[:12]} against {run.target.name}",
            "description": (
                f"pytest-mc {run.suite_version} against target {run.target.name} "
                f"({run.target.environment}, time scale {run.target.time_scale:g}); "
                f"exit status {run.exit_status}"
            ),
            "start": _time(run.started_at),
            "props": [*labels, _prop("time-scale", run.target.time_scale)],
            "reviewed-controls": {
                "description": "The DoD items and validation gates of the frozen QI catalog "
                f"{bundle.catalog.version} ({bundle.catalog.digest})",
                "control-selections": [{"include-all": {}}],
            },
            "observations": [o["oscal"] for o in observations],
            "findings": findings,
        }
        if run.finished_at is not None:
            result["end"] = _time(run.finished_at)
        if tenants:
            result["local-definitions"] = {
                "components": [_tenant_component(root, tenant) for tenant in tenants]
            }
        if bundle.rehearsal:
            result["remarks"] = "Rehearsal evidence: judged, but no DoD item is satisfied by it."
        results.append(result)
    document = {
        "uuid": _uuid(*root, "assessment-results"),
        "metadata": {
            "title": title,
            "last-modified": _time(bundle.generated_at),
            "version": bundle.release,
            "oscal-version": OSCAL_VERSION,
            "props": [
                *labels,
                _prop("catalog", f"{bundle.catalog.version} {bundle.catalog.digest}"),
                _prop("evidence-bundle", f"{bundle_name} sha256:{bundle_sha256}"),
            ],
        },
        "import-ap": {"href": PLAN},
        "results": results,
    }
    return {"assessment-results": document}


def _tenant_component(root: tuple[str, str], tenant: str) -> dict[str, object]:
    return {
        "uuid": _uuid(*root, "tenant", tenant),
        "type": "service",
        "title": tenant,
        "description": f"Tenant {tenant} of the target under verification",
        "status": {"state": "operational"},
    }


def _observations(
    records: Iterable[ChainRecord],
    root: tuple[str, str],
    chain_id: str,
    judged: set[str],
    bundle_name: str,
) -> list[Json]:
    """One observation per judged measurement of the chain, with its evidence."""
    artifacts: dict[str | None, list[Artifact]] = {}
    listed = list(records)
    for record in listed:
        if isinstance(record.body, Artifact):
            artifacts.setdefault(record.body.nodeid, []).append(record.body)
    found: list[Json] = []
    for record in listed:
        body = record.body
        if not isinstance(body, Measurement) or body.qi_id not in judged:
            continue
        evidence = [
            {
                "href": f"{bundle_name}#chain={chain_id}&seq={record.seq}",
                "description": f"chain record {record.seq}, sha256 {record.hash}",
            },
            *(
                {"href": a.path, "description": f"artifact {a.name}, sha256 {a.sha256}"}
                for a in artifacts.get(body.nodeid, [])
                if body.nodeid is not None
            ),
        ]
        observation: Json = {
            "uuid": _uuid(*root, "observation", chain_id, record.seq),
            "title": f"{body.qi_id}" + (f" of {body.tenant}" if body.tenant else ""),
            "description": (
                f"{body.qi_id}: {_value(body)} against {body.comparator} {body.threshold:g} "
                f"{body.unit}: {body.verdict.value} ({body.reason}); source: {body.source}"
            ),
            "methods": ["TEST"],
            "props": [_prop("qi", body.qi_id), _prop("verdict", body.verdict.value)],
            "relevant-evidence": evidence,
            "collected": _time(record.at),
        }
        if body.tenant:
            observation["subjects"] = [
                {"subject-uuid": _uuid(*root, "tenant", body.tenant), "type": "component"}
            ]
        found.append(
            {
                "qi": body.qi_id,
                "tenant": body.tenant,
                "verdict": body.verdict.value,
                "oscal": observation,
            }
        )
    return found


def _value(measurement: Measurement) -> str:
    if measurement.value is None:
        return "no value"
    if measurement.trials is not None:
        return f"{measurement.events}/{measurement.trials}"
    return f"{measurement.value:g}"


def _finding(
    root: tuple[str, str],
    key: tuple[object, ...],
    *,
    title: str,
    description: str,
    qi_id: str,
    satisfied: bool,
    reason: str,
    related: Iterable[str],
) -> dict[str, object]:
    finding: dict[str, object] = {
        "uuid": _uuid(*root, "finding", *key),
        "title": title,
        "description": description,
        "target": {
            "type": "objective-id",
            "target-id": qi_id,
            "status": {"state": "satisfied" if satisfied else "not-satisfied", "remarks": reason},
        },
    }
    observations = [{"observation-uuid": uid} for uid in related]
    if observations:
        finding["related-observations"] = observations
    return finding


def _dod_findings(
    rows: Iterable[DodRow], observations: list[Json], root: tuple[str, str]
) -> list[Json]:
    findings: list[Json] = []
    for row in rows:
        related = [
            o["oscal"]["uuid"]
            for o in observations
            if o["qi"] == row.qi_id and (row.tenant is None or o["tenant"] == row.tenant)
        ]
        shown = "no value" if row.value is None else (row.note or f"{row.value:g}")
        labels = " (rehearsal)" if row.rehearsal else ""
        labels += " (draft catalog)" if row.draft_catalog else ""
        findings.append(
            _finding(
                root,
                ("dod", row.qi_id, row.tenant),
                title=f"DoD {row.title}" + (f", {row.tenant}" if row.tenant else ""),
                description=(
                    f"{row.qi_id}: {shown} against {row.comparator} {row.threshold:g} "
                    f"{row.unit}: {row.verdict.value}{labels}"
                ),
                qi_id=row.qi_id,
                satisfied=row.satisfied,
                reason=row.reason,
                related=related,
            )
        )
    return findings


def _gate_findings(observations: list[Json], root: tuple[str, str], run_id: str) -> list[Json]:
    findings: list[Json] = []
    for gate in VALIDATION_GATES:
        tenants = sorted({o["tenant"] or "" for o in observations if o["qi"] == gate})
        for tenant in tenants:
            judged = [o for o in observations if o["qi"] == gate and (o["tenant"] or "") == tenant]
            failing = [o for o in judged if o["verdict"] != "pass"]
            findings.append(
                _finding(
                    root,
                    ("gate", run_id, gate, tenant),
                    title=f"Validation gate {gate}" + (f", {tenant}" if tenant else ""),
                    description=(
                        f"{gate} judged {len(judged)} times in this run, "
                        f"{len(judged) - len(failing)} passed"
                    ),
                    qi_id=gate,
                    satisfied=not failing,
                    reason="every judgement passed"
                    if not failing
                    else f"{len(failing)} of {len(judged)} judgements did not pass",
                    related=[o["oscal"]["uuid"] for o in judged],
                )
            )
    return findings


def export_bytes(bundle: EvidenceBundle, *, bundle_name: str, bundle_sha256: str) -> bytes:
    """The document as written: keys sorted, two-space indent, a final newline."""
    document = assessment_results(bundle, bundle_name=bundle_name, bundle_sha256=bundle_sha256)
    return (json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()
