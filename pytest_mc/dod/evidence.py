"""The evidence a DoD evaluation reads: a verified bundle, or the chain of a running session.

Both become one `DodEvidence`: the views materialized from the chains, the chains themselves
(so each record can be traced to the run that wrote it and its time scale), and what was
proven about their integrity. A bundle is verified in full before anything is read from it,
so a tampered bundle raises `BundleError` (exit 2) instead of being reported on.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

from pytest_mc.evidence.bundle import BundleViews, ChainSegment, materialize_views, segment
from pytest_mc.evidence.chain import read_chain, verify_chain
from pytest_mc.evidence.records import RecordBody, RunStarted
from pytest_mc.evidence.signing import TrustedKeys, load_signing_key
from pytest_mc.evidence.verify import VerificationReport, verify_bundle
from pytest_mc.policy.catalog import QiCatalog


class Integrity(BaseModel):
    """What was proven about the evidence before it was read."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    chains: int
    records: int
    signature: Literal["verified", "pending"]
    keyid: str
    ephemeral_key: bool
    detail: str


@dataclass(frozen=True)
class Traced:
    """One record with its position and the run that wrote it."""

    chain_index: int
    seq: int
    body: RecordBody
    run: RunStarted | None

    @property
    def rehearsal(self) -> bool:
        """Written by a run at time scale != 1, or by no known run (never assumed real)."""
        return self.run is None or self.run.rehearsal or self.run.target.time_scale != 1


@dataclass(frozen=True)
class DodEvidence:
    """Verified evidence, ready to be judged."""

    label: str
    release: str | None
    views: BundleViews
    chains: tuple[ChainSegment, ...]
    integrity: Integrity
    artifact_base: Path

    def traced(self) -> Iterator[Traced]:
        """Every record in chain order, with the run (`run_started`) it belongs to."""
        for index, chain in enumerate(self.chains):
            run: RunStarted | None = None
            for record in chain.records:
                if isinstance(record.body, RunStarted):
                    run = record.body
                yield Traced(chain_index=index, seq=record.seq, body=record.body, run=run)


def from_bundle(
    path: Path, catalog: QiCatalog, *, trusted: TrustedKeys
) -> tuple[DodEvidence, VerificationReport]:
    """Verify the bundle at `path` (schema, chains, views, artifacts, signature by a key in
    `trusted`), then wrap it."""
    report = verify_bundle(path, catalog, trusted=trusted)
    bundle = report.bundle
    views = BundleViews.model_validate(
        {name: getattr(bundle, name) for name in BundleViews.model_fields}
    )
    signer = "an ephemeral key" if report.signature.ephemeral else "a user key"
    integrity = Integrity(
        chains=len(bundle.chains),
        records=report.records,
        signature="verified",
        keyid=report.signature.keyid,
        ephemeral_key=report.signature.ephemeral,
        detail=(
            f"{report.records} records in {len(bundle.chains)} chain(s) intact, "
            f"{report.artifacts} artifact digest(s) checked, signature by {signer} "
            f"({report.signature.keyid}) verified under a trusted key"
        ),
    )
    evidence = DodEvidence(
        label=str(path),
        release=bundle.release,
        views=views,
        chains=bundle.chains,
        integrity=integrity,
        artifact_base=path.parent,
    )
    return evidence, report


def from_session_chain(
    chain_path: Path,
    catalog: QiCatalog,
    *,
    out_dir: Path,
    release: str,
    signing_key_path: Path | None,
) -> DodEvidence:
    """The chain a session is writing, verified record by record. Its bundle is signed when
    the session ends, with the user's key at `signing_key_path` (loaded here, so a bad key is
    an input error now) or, without one, an ephemeral key made at that moment."""
    readout = read_chain(chain_path)
    records = verify_chain(readout.records, where=chain_path.name)
    chain = segment(records)
    views = materialize_views([chain], catalog)
    if signing_key_path is not None:
        key = load_signing_key(signing_key_path)
        keyid, signer = key.keyid, f"the user's key ({key.keyid})"
    else:
        keyid, signer = "ephemeral", "an ephemeral key made then"
    integrity = Integrity(
        chains=1,
        records=len(records),
        signature="pending",
        keyid=keyid,
        ephemeral_key=signing_key_path is None,
        detail=(
            f"{len(records)} records of {chain_path.name} intact so far; the bundle is signed "
            f"when this session ends, with {signer}"
        ),
    )
    return DodEvidence(
        label=f"this session's chain {chain_path}",
        release=release,
        views=views,
        chains=(chain,),
        integrity=integrity,
        artifact_base=out_dir,
    )
