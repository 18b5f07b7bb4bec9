"""`evidence verify`: schema, chain, derived views, artifact digests and signature.

Checks run in that order and stop at the first break, which is named: the record (chain
and index), the view, the artifact file or the signature. Record hashes are recomputed from
the JSON as stored in the bundle, not from re-serialised models.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from pytest_mc.errors import BundleError
from pytest_mc.evidence.bundle import (
    EvidenceBundle,
    materialize_views,
    parse_bundle,
    read_bundle_document,
)
from pytest_mc.evidence.chain import head_of, verify_chain
from pytest_mc.evidence.records import Artifact
from pytest_mc.evidence.signing import SignatureCheck, verify_signature
from pytest_mc.policy.catalog import QiCatalog, check_reference, draft_label, review_warning


@dataclass(frozen=True)
class VerificationReport:
    """What was proven about a bundle."""

    bundle: EvidenceBundle
    records: int
    artifacts: int
    signature: SignatureCheck
    warnings: list[str] = field(default_factory=list)


def verify_bundle(
    path: Path, catalog: QiCatalog, *, trusted_public_key: bytes | None = None
) -> VerificationReport:
    """Prove `path` complete and untampered, or raise `BundleError` naming the first break."""
    document = read_bundle_document(path)
    bundle = parse_bundle(document, where=str(path))
    raw_chains = document["chains"]
    assert isinstance(raw_chains, list)  # guaranteed by the schema check above
    records = 0
    for index, (raw, chain) in enumerate(zip(raw_chains, bundle.chains, strict=True)):
        where = f"{path.name} chain {index}"
        verified = verify_chain(raw["records"], where=where)
        records += len(verified)
        if head_of(verified) != chain.head:
            raise BundleError(f"{where}: head does not match its last record; records were removed")
        if verified and verified[0].hash != chain.chain_id:
            raise BundleError(f"{where}: chain_id does not match the hash of its first record")
    check_reference(bundle.catalog, where=path.name)
    if bundle.catalog.digest != catalog.digest:
        raise BundleError(
            f"{path.name} was made against QI catalog {bundle.catalog.version} "
            f"{bundle.catalog.digest}, not the catalog given ({catalog.version} {catalog.digest}); "
            f"pass the catalog it references with --catalog"
        )
    views = materialize_views(bundle.chains, catalog)
    for name, expected in views:
        if getattr(bundle, name) != expected:
            raise BundleError(
                f"{path.name}: '{name}' does not match what its chain records say; the view was "
                f"edited after it was written"
            )
    artifacts = verify_artifacts(bundle, base=path.parent)
    signature = verify_signature(path, trusted_public_key=trusted_public_key)
    warnings = []
    if signature.ephemeral:
        warnings.append(
            f"signed with an ephemeral key ({signature.keyid}): proves integrity, not who signed"
        )
    elif not signature.trusted_key:
        warnings.append(
            f"signature checked with the key in the envelope ({signature.keyid}); pass "
            f"--public-key to check it against a key you trust"
        )
    if bundle.rehearsal:
        warnings.append("rehearsal evidence (time_scale != 1): it cannot satisfy a GA DoD item")
    draft = draft_label(bundle.catalog)
    if draft is not None:
        warnings.append(f"{draft} evidence (not a published catalog): it cannot satisfy a DoD item")
    overdue = review_warning(catalog, date.today())
    if overdue is not None:
        warnings.append(overdue)
    return VerificationReport(
        bundle=bundle, records=records, artifacts=artifacts, signature=signature, warnings=warnings
    )


def verify_artifacts(bundle: EvidenceBundle, *, base: Path) -> int:
    """Every artifact file exists under `base` with the recorded sha256; returns the count."""
    count = 0
    for chain in bundle.chains:
        for record in chain.records:
            if not isinstance(record.body, Artifact):
                continue
            artifact = record.body
            file = base / artifact.path
            try:
                digest = hashlib.sha256(file.read_bytes()).hexdigest()
            except FileNotFoundError:
                raise BundleError(
                    f"artifact {artifact.name!r} (record {record.seq}) is missing: {file}"
                ) from None
            if digest != artifact.sha256:
                raise BundleError(
                    f"artifact {artifact.name!r} (record {record.seq}) was altered: {file} has "
                    f"sha256 {digest[:12]}…, recorded {artifact.sha256[:12]}…"
                )
            count += 1
    return count
