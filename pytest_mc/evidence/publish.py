"""Turning a chain file into a written, signed bundle (what a session does at its end)."""

from __future__ import annotations

from pathlib import Path

from pytest_mc.evidence.bundle import (
    EvidenceBundle,
    SigningInfo,
    materialize,
    segment,
    write_bundle,
)
from pytest_mc.evidence.chain import read_chain, verify_chain
from pytest_mc.evidence.signing import SigningKey, sign_bundle
from pytest_mc.policy.catalog import QiCatalog


def publish(
    chain_path: Path, bundle_path: Path, catalog: QiCatalog, key: SigningKey, *, release: str
) -> EvidenceBundle:
    """Verify the chain, materialize the bundle from it, write it and sign it."""
    readout = read_chain(chain_path)
    records = verify_chain(readout.records, where=chain_path.name)
    bundle = materialize(
        [segment(records)],
        catalog,
        release=release,
        signing=SigningInfo(keyid=key.keyid, ephemeral=key.ephemeral),
    )
    write_and_sign(bundle, bundle_path, key)
    return bundle


def write_and_sign(bundle: EvidenceBundle, bundle_path: Path, key: SigningKey) -> None:
    write_bundle(bundle, bundle_path)
    sign_bundle(
        bundle_path,
        key,
        predicate={
            "release": bundle.release,
            "catalog": bundle.catalog.model_dump(mode="json"),
            "chains": [
                chain.head.model_dump(mode="json") | {"chain_id": chain.chain_id}
                for chain in bundle.chains
            ],
            "rehearsal": bundle.rehearsal,
        },
    )
