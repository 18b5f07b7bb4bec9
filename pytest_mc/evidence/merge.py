"""`evidence merge`: one bundle from the bundles of several CI jobs (one per tenant).

Every input is verified first, signer included: a bundle signed by a key the caller does
not trust is refused like a tampered one, or anyone could merge a forged run in. Chains are
the unit of merging: a chain present in several inputs is kept once (the longest
when one is a prefix of another), chains that share an id but diverge are refused, and so
are bundles made against different QI catalogs. Sections are then re-materialized from the
merged chains, so none is lost or duplicated. Artifacts are copied beside the output.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

from pytest_mc.errors import BundleError
from pytest_mc.evidence.bundle import (
    ChainSegment,
    EvidenceBundle,
    SigningInfo,
    materialize,
    read_bundle,
)
from pytest_mc.evidence.publish import write_and_sign
from pytest_mc.evidence.records import Artifact
from pytest_mc.evidence.signing import SigningKey, TrustedKeys
from pytest_mc.evidence.verify import artifact_file, verify_bundle
from pytest_mc.policy.catalog import QiCatalog


def merge_bundles(
    inputs: Sequence[Path],
    output: Path,
    catalog: QiCatalog,
    key: SigningKey,
    *,
    trusted: TrustedKeys,
    release: str | None = None,
) -> EvidenceBundle:
    """Verify every input, merge their chains, write and sign the merged bundle."""
    if not inputs:
        raise BundleError("evidence merge needs at least one bundle")
    # Catalogs first: verifying each input against `catalog` would otherwise refuse the odd
    # one out as "not the catalog given", without saying the inputs disagree among themselves.
    references = [read_bundle(path).catalog for path in inputs]
    if len({reference.digest for reference in references}) > 1:
        listing = ", ".join(
            f"{path.name}: {reference.version} {reference.digest[:19]}…"
            for path, reference in zip(inputs, references, strict=True)
        )
        raise BundleError(
            f"refusing to merge bundles made against different QI catalogs ({listing}); "
            f"merge only the bundles of one catalog"
        )
    bundles = [verify_bundle(path, catalog, trusted=trusted).bundle for path in inputs]
    chains: dict[str, ChainSegment] = {}
    origin: dict[str, Path] = {}
    for path, bundle in zip(inputs, bundles, strict=True):
        for chain in bundle.chains:
            kept = chains.get(chain.chain_id)
            if kept is None or _extends(chain, kept):
                chains[chain.chain_id] = chain
                origin[chain.chain_id] = path
            elif not _extends(kept, chain):
                raise BundleError(
                    f"chain {chain.chain_id[:12]}… in {path.name} diverges from the same chain in "
                    f"{origin[chain.chain_id].name}; one of them was not produced by its run"
                )
    merged = materialize(
        list(chains.values()),
        catalog,
        release=release or bundles[0].release,
        signing=SigningInfo(keyid=key.keyid, ephemeral=key.ephemeral),
    )
    for chain_id, chain in chains.items():
        _copy_artifacts(chain, source=origin[chain_id].parent, target=output.parent)
    write_and_sign(merged, output, key)
    return merged


def _extends(longer: ChainSegment, shorter: ChainSegment) -> bool:
    """`longer` holds every record of `shorter`, in order, and maybe more."""
    count = len(shorter.records)
    return len(longer.records) >= count and longer.records[count - 1].hash == shorter.head.hash


def _copy_artifacts(chain: ChainSegment, *, source: Path, target: Path) -> None:
    for record in chain.records:
        if isinstance(record.body, Artifact):
            origin = artifact_file(record.body, base=source, seq=record.seq)
            destination = target / record.body.path
            if destination.resolve() == origin.resolve():
                continue
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(origin, destination)
