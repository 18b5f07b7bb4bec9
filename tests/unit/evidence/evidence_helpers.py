"""Types shared by the evidence tests and their conftest (a module, so tests can import it)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pytest_mc.evidence.recorder import EvidencePaths

RELEASE = "v0.3.1-mc"


@dataclass(frozen=True)
class RecordedRun:
    """A published run: where its chain, bundle, signature and artifacts are, and the public
    key of the key that signed it (written out even for an ephemeral key, as `mc-verify run`
    hands that key over in-process)."""

    tenant: str
    paths: EvidencePaths
    public_key: Path

    @property
    def bundle(self) -> Path:
        return self.paths.bundle

    @property
    def chain(self) -> Path:
        return self.paths.chain

    @property
    def envelope(self) -> Path:
        return self.bundle.with_name(self.bundle.name + ".dsse.json")

    def document(self) -> dict[str, object]:
        loaded: dict[str, object] = json.loads(self.bundle.read_text(encoding="utf-8"))
        return loaded

    def records(self) -> list[dict[str, object]]:
        """The raw records of the bundle's (only) chain, as stored."""
        chains = self.document()["chains"]
        assert isinstance(chains, list)
        records: list[dict[str, object]] = chains[0]["records"]
        return records


RecordRun = Callable[..., RecordedRun]


@dataclass(frozen=True)
class CliResult:
    code: int
    out: str
    err: str


RunCli = Callable[..., CliResult]
