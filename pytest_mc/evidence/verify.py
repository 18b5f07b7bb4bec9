"""`evidence verify`: schema, chain, derived views, artifact digests and signature, and the
forensics of a raw chain file (what a crashed run leaves on disk).

Checks run in that order and stop at the first break, which is named: the record (chain
and index), the view, the artifact file or the signature. Record hashes are recomputed from
the JSON as stored in the bundle, not from re-serialised models. A bundle verifies only when
its signature verifies under a key the caller trusts; with a valid signature by anyone else
every other check still runs, and then the signer is refused as not authenticated.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from pytest_mc.errors import BundleError
from pytest_mc.evidence.attestations import AttestationCheck, check_attestations
from pytest_mc.evidence.bundle import (
    BundleViews,
    ChainSegment,
    EvidenceBundle,
    materialize_views,
    parse_bundle,
    read_bundle_document,
    segment,
)
from pytest_mc.evidence.chain import ChainScan, head_of, scan_chain, verify_chain
from pytest_mc.evidence.records import Artifact, ChainRecord, RunStarted
from pytest_mc.evidence.signing import (
    SignatureCheck,
    TrustedKeys,
    untrusted_signer,
    verify_signature,
)
from pytest_mc.inputs import bounded, quote
from pytest_mc.policy.catalog import QiCatalog, check_reference, draft_label, review_warning


@dataclass(frozen=True)
class VerificationReport:
    """What was proven about a bundle."""

    bundle: EvidenceBundle
    records: int
    artifacts: int
    signature: SignatureCheck
    attestations: tuple[AttestationCheck, ...] = ()
    warnings: list[str] = field(default_factory=list)


def verify_bundle(path: Path, catalog: QiCatalog, *, trusted: TrustedKeys) -> VerificationReport:
    """Prove `path` complete, untampered and signed by a key in `trusted`, or raise
    `BundleError` naming the first break (an untrusted signer last, once all else held)."""
    document = read_bundle_document(path)
    bundle = parse_bundle(document, where=str(path))
    raw_chains = document["chains"]
    assert isinstance(raw_chains, list)  # guaranteed by the schema check above
    records = 0
    for index, (raw, chain) in enumerate(zip(raw_chains, bundle.chains, strict=True)):
        where = f"{path.name} chain {index}"
        verified = verify_chain(raw["records"], where=where)
        records += len(verified)
        check_head(verified, chain, where=where)
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
    signature = verify_signature(path, trusted=trusted)
    if not signature.trusted:
        raise BundleError(
            f"{path.name}: schema, {records} chained records, views and {artifacts} artifacts "
            f"check out and the signature is valid, but {untrusted_signer(signature, trusted)}"
        )
    attestations = check_attestations(path, trusted=trusted)
    for attestation in attestations:
        if not attestation.trusted:
            raise BundleError(
                f"{attestation.path.name}: its signature is valid, but the signer "
                f"{attestation.keyid} is not a trusted key; it was not signed with the bundle"
            )
    warnings = []
    if signature.ephemeral:
        warnings.append(
            f"signed with an ephemeral key ({signature.keyid}): proves integrity, not who signed"
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
        bundle=bundle,
        records=records,
        artifacts=artifacts,
        signature=signature,
        attestations=attestations,
        warnings=warnings,
    )


def check_head(verified: Sequence[ChainRecord], chain: ChainSegment, *, where: str) -> None:
    """The chain's recorded head is its last record: none appended after it, none removed."""
    head = chain.head
    if head_of(verified) == head:
        return
    count = len(verified)
    if count > head.records and (head.records == 0 or verified[head.records - 1].hash == head.hash):
        extra = count - head.records
        raise BundleError(
            f"{where}: record {head.records} (seq {verified[head.records].seq}) was appended "
            f"after the chain head (head: {head.records} records, seq {head.seq}); "
            f"{extra} record(s) were added after the bundle was written"
        )
    if count < head.records:
        raise BundleError(f"{where}: head does not match its last record; records were removed")
    raise BundleError(
        f"{where}: head does not match its last record (head: {head.records} records, seq "
        f"{head.seq}); the records were rewritten after the head was recorded"
    )


def artifact_file(artifact: Artifact, *, base: Path, seq: int) -> Path:
    """The regular file an artifact record points at, inside `base` (the evidence directory).

    A path that leaves `base` (absolute, or through `..`), a directory, a device or a file
    that cannot be read is refused, so a crafted bundle cannot make a verifier read elsewhere.
    """
    label = f"artifact {quote(artifact.name)} (record {seq})"
    relative = Path(artifact.path)
    file = base / relative
    try:
        inside = (
            not relative.is_absolute()
            and ".." not in relative.parts
            and file.resolve().is_relative_to(base.resolve())
        )
    except (OSError, RuntimeError):  # a symlink loop
        inside = False
    if not inside:
        raise BundleError(
            f"{label}: path {quote(artifact.path)} leaves the evidence directory {base}; "
            f"artifacts are stored under it"
        )
    if not file.exists():
        raise BundleError(f"{label} is missing: {bounded(str(file))}")
    if not file.is_file():
        raise BundleError(f"{label}: {bounded(str(file))} is not a regular file; it was replaced")
    return file


def verify_artifacts(bundle: EvidenceBundle, *, base: Path) -> int:
    """Every artifact file exists under `base` with the recorded sha256; returns the count."""
    count = 0
    for chain in bundle.chains:
        for record in chain.records:
            if not isinstance(record.body, Artifact):
                continue
            artifact = record.body
            file = artifact_file(artifact, base=base, seq=record.seq)
            try:
                with file.open("rb") as handle:
                    digest = hashlib.file_digest(handle, "sha256").hexdigest()
            except OSError as exc:
                raise BundleError(
                    f"artifact {quote(artifact.name)} (record {record.seq}): cannot read "
                    f"{bounded(str(file))}: {exc.strerror or exc}"
                ) from None
            if digest != artifact.sha256:
                raise BundleError(
                    f"artifact {quote(artifact.name)} (record {record.seq}) was altered: "
                    f"{bounded(str(file))} has sha256 {digest[:12]}…, recorded "
                    f"{artifact.sha256[:12]}…"
                )
            count += 1
    return count


@dataclass(frozen=True)
class ChainForensics:
    """What a raw chain file proves: its valid prefix and, from it, the runs and scenarios
    (`views`; None when the prefix holds no run, with `unsummarised` saying why)."""

    scan: ChainScan
    views: BundleViews | None
    unsummarised: str | None = None


def verify_chain_file(path: Path, catalog: QiCatalog) -> ChainForensics:
    """Scan the chain file at `path`; raise `BundleError` when a record in it was tampered
    with (naming the line and the valid prefix). A torn last line is a crash, not tampering:
    it is reported in the result, not raised."""
    scan = scan_chain(path)
    if scan.broken is not None:
        why = (
            "it is the file's last record: a record appended after the valid prefix that does "
            "not verify is a forged append, not a crash"
            if len(scan.records) == scan.lines - 1
            else "a chain is only ever appended to, so a break before its end is tampering, "
            "not a crash"
        )
        raise BundleError(
            f"{scan.broken} (the first {len(scan.records)} records form a valid prefix; {why})"
        )
    if not any(isinstance(record.body, RunStarted) for record in scan.records):
        return ChainForensics(scan=scan, views=None, unsummarised="no run_started record")
    try:
        views = materialize_views([segment(scan.records)], catalog)
    except BundleError as exc:  # e.g. runs against different catalogs: the prefix still holds
        return ChainForensics(scan=scan, views=None, unsummarised=str(exc))
    return ChainForensics(scan=scan, views=views)
