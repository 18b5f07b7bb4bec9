"""Standard attestations of a run, for policy engines and attestation stores.

Beside the bundle's own signature (an in-toto Statement with pytest-mc's predicate) a run
writes two more DSSE envelopes, signed with the same key, whose predicates any in-toto or SLSA
tool reads:

* `evidence-RELEASE.test-result.dsse.json`: the run's scenario results as an in-toto
  **test-result** (`https://in-toto.io/attestation/test-result/v0.1`): `result` PASSED,
  WARNED (a scenario skipped or left incomplete) or FAILED; `configuration` the feature files
  and the QI catalog by digest; `passedTests`, `warnedTests`, `failedTests` the scenarios.
* `evidence-RELEASE.vsa.dsse.json`: the DoD verdict as a SLSA **verification summary**
  (`https://slsa.dev/verification_summary/v1`): the verifier (pytest-mc), the policy (the QI
  catalog by version and digest), the bundle's own signature as input attestation,
  `verificationResult` PASSED only when every DoD item is satisfied (never for a rehearsal or
  a draft catalog), `verifiedLevels` `PYTEST_MC_DOD_MET` or `FAILED`.

Both name the bundle file and its sha256 as their only subject. `check_attestations` verifies
them as `evidence verify` does the bundle's signature: under a trusted key, naming this bundle.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from pytest_mc.errors import BundleError
from pytest_mc.evidence.bundle import EvidenceBundle
from pytest_mc.evidence.signing import (
    STATEMENT_TYPE,
    SigningKey,
    TrustedKeys,
    envelope_path,
    key_id,
    signed_envelope,
    verified_payload,
)
from pytest_mc.inputs import parse_json_object, quote

TEST_RESULT_PREDICATE = "https://in-toto.io/attestation/test-result/v0.1"
VSA_PREDICATE = "https://slsa.dev/verification_summary/v1"
DOD_MET_LEVEL = "PYTEST_MC_DOD_MET"  # a custom level: SLSA reserves names starting SLSA_
ATTESTATIONS = {"test-result": TEST_RESULT_PREDICATE, "vsa": VSA_PREDICATE}


def attestation_path(bundle_path: Path, name: str) -> Path:
    """`evidence-RELEASE.<name>.dsse.json` beside the bundle (`name`: test-result or vsa)."""
    return bundle_path.with_name(f"{bundle_path.stem}.{name}.dsse.json")


def verifier_id(version: str) -> str:
    return f"urn:pytest-mc:mc-verify:{version}"


def test_result_predicate(bundle: EvidenceBundle, features: Mapping[str, str]) -> dict[str, object]:
    """The run's scenarios as an in-toto test-result, configured by `features` (feature file
    name → sha256) and the QI catalog the bundle cites."""
    passed: list[str] = []
    warned: list[str] = []
    failed: list[str] = []
    sections = [*bundle.tenants.values(), bundle.run_wide, bundle.autonomy_pilot]
    for scenario in sorted(
        {s.nodeid: s for section in sections for s in section.scenarios}.values(),
        key=lambda s: s.nodeid,
    ):
        if scenario.outcome == "passed":
            passed.append(scenario.nodeid)
        elif scenario.outcome in ("failed", "error"):
            failed.append(scenario.nodeid)
        else:
            warned.append(scenario.nodeid)
    result = "FAILED" if failed else "WARNED" if warned or not passed else "PASSED"
    return {
        "result": result,
        "configuration": [
            *(
                {"name": name, "digest": {"sha256": digest}}
                for name, digest in sorted(features.items())
            ),
            {
                "name": f"qi-catalog-{bundle.catalog.version}",
                "digest": {"sha256": bundle.catalog.digest.removeprefix("sha256:")},
            },
        ],
        "passedTests": passed,
        "warnedTests": warned,
        "failedTests": failed,
    }


def verification_summary_predicate(
    bundle: EvidenceBundle, bundle_path: Path, *, version: str
) -> dict[str, object]:
    """The DoD verdict as a SLSA verification summary, the bundle's signature its input."""
    met = bool(bundle.dod) and all(row.satisfied for row in bundle.dod)
    signature = envelope_path(bundle_path)
    return {
        "verifier": {"id": verifier_id(version)},
        "timeVerified": bundle.generated_at.isoformat().replace("+00:00", "Z"),
        "resourceUri": f"urn:pytest-mc:evidence-bundle:{bundle.release}",
        "policy": {
            "uri": f"urn:pytest-mc:qi-catalog:{bundle.catalog.version}",
            "digest": {"sha256": bundle.catalog.digest.removeprefix("sha256:")},
        },
        "inputAttestations": [
            {
                "uri": signature.name,
                "digest": {"sha256": hashlib.sha256(signature.read_bytes()).hexdigest()},
            }
        ],
        "verificationResult": "PASSED" if met else "FAILED",
        "verifiedLevels": [DOD_MET_LEVEL if met else "FAILED"],
    }


def write_attestations(
    bundle: EvidenceBundle,
    bundle_path: Path,
    key: SigningKey,
    *,
    features: Mapping[str, str],
    version: str,
) -> tuple[Path, ...]:
    """Sign and write both attestations beside the signed bundle; returns their paths."""
    predicates = {
        "test-result": test_result_predicate(bundle, features),
        "vsa": verification_summary_predicate(bundle, bundle_path, version=version),
    }
    subject = {
        "name": bundle_path.name,
        "digest": {"sha256": hashlib.sha256(bundle_path.read_bytes()).hexdigest()},
    }
    written = []
    for name, predicate in predicates.items():
        statement = {
            "_type": STATEMENT_TYPE,
            "subject": [subject],
            "predicateType": ATTESTATIONS[name],
            "predicate": predicate,
        }
        envelope = signed_envelope(json.dumps(statement, sort_keys=True).encode(), key)
        path = attestation_path(bundle_path, name)
        path.write_text(envelope.model_dump_json(indent=2, exclude_none=True) + "\n")
        written.append(path)
    return tuple(written)


@dataclass(frozen=True)
class AttestationCheck:
    """One attestation beside a bundle: its predicate type, signer and whether it is trusted."""

    path: Path
    predicate_type: str
    keyid: str
    trusted: bool


def check_attestations(bundle_path: Path, *, trusted: TrustedKeys) -> tuple[AttestationCheck, ...]:
    """Verify every attestation written beside `bundle_path` (absent ones are skipped: older
    runs wrote none): a signature that verifies, the standard predicate type of its name, and
    this bundle file and its sha256 as the subject. `BundleError` names the first that fails."""
    digest = hashlib.sha256(bundle_path.read_bytes()).hexdigest()
    checks = []
    for name, predicate_type in ATTESTATIONS.items():
        where = attestation_path(bundle_path, name)
        if not where.exists():
            continue
        payload, signer = verified_payload(where, trusted=trusted, what="attestation")
        statement = parse_json_object(
            payload, where=f"attestation {where}: the signed statement", error=BundleError
        )
        if statement.get("predicateType") != predicate_type:
            raise BundleError(
                f"attestation {where}: predicateType {quote(statement.get('predicateType'))} "
                f"is not {predicate_type!r}"
            )
        if not _names(statement.get("subject"), bundle_path.name, digest):
            raise BundleError(
                f"attestation {where}: its subject is not {bundle_path.name} with sha256 "
                f"{digest[:12]}…; the bundle or the attestation changed after signing"
            )
        checks.append(
            AttestationCheck(
                path=where,
                predicate_type=predicate_type,
                keyid=key_id(signer),
                trusted=signer in trusted.keys.values(),
            )
        )
    return tuple(checks)


def _names(subject: object, name: str, digest: str) -> bool:
    if not isinstance(subject, list) or len(subject) != 1 or not isinstance(subject[0], dict):
        return False
    only = subject[0]
    recorded = only.get("digest")
    return only.get("name") == name and isinstance(recorded, dict) and _one(recorded, digest)


def _one(recorded: dict[str, object], digest: str) -> bool:
    return set(recorded) == {"sha256"} and recorded["sha256"] == digest


def feature_digests(paths: Iterable[Path], root: Path) -> dict[str, str]:
    """Each feature file by its path relative to `root` (its name when outside) → sha256,
    for the test-result's configuration."""
    found: dict[str, str] = {}
    for path in paths:
        try:
            name = path.resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            name = path.name
        found[name] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found
