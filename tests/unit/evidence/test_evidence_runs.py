"""Which run a chain record belongs to when several writers share the chain: the session's
controller, a bake runner that writes its own run into the same chain from inside a scenario,
and xdist workers that never start a run of their own."""

from __future__ import annotations

from pathlib import Path

from evidence_helpers import RELEASE

from pytest_mc.evidence.bundle import EvidenceBundle
from pytest_mc.evidence.publish import publish
from pytest_mc.evidence.recorder import EvidencePaths, EvidenceRecorder
from pytest_mc.evidence.records import (
    RunFinished,
    RunStarted,
    ScenarioFinished,
    ScenarioStarted,
    TargetInfo,
)
from pytest_mc.evidence.signing import load_signing_key
from pytest_mc.policy.catalog import QiCatalog, catalog_reference

NODEID = "features/x.py::test_rollout[TENANT_004]"


def _started(run_id: str, catalog: QiCatalog) -> RunStarted:
    return RunStarted(
        run_id=run_id,
        release=RELEASE,
        target=TargetInfo(name="t", environment="staging", time_scale=600),
        rehearsal=True,
        catalog=catalog_reference(catalog),
        suite_version="0.3.1",
    )


class Writers:
    """Recorders of one chain file, one per writer, appending in the order called."""

    def __init__(self, tmp_path: Path, catalog: QiCatalog) -> None:
        self.paths = EvidencePaths(tmp_path / "dist", RELEASE)
        self.catalog = catalog
        self.recorders: dict[str, EvidenceRecorder] = {}

    def __call__(self, writer: str) -> EvidenceRecorder:
        if writer not in self.recorders:
            self.recorders[writer] = EvidenceRecorder(
                self.paths, self.catalog, writer=writer, durable=False
            )
        return self.recorders[writer]

    def publish(self) -> EvidenceBundle:
        for recorder in self.recorders.values():
            recorder.close()
        key = load_signing_key(None)
        return publish(self.paths.chain, self.paths.bundle, self.catalog, key, release=RELEASE)


def _scenario(recorder: EvidenceRecorder, *, started: bool) -> None:
    if started:
        recorder.record(ScenarioStarted(nodeid=NODEID, scenario="rollout", tenant="TENANT_004"))
    else:
        recorder.record(
            ScenarioFinished(
                nodeid=NODEID, tenant="TENANT_004", outcome="passed", duration_seconds=1.0
            )
        )


def test_a_bake_run_inside_a_scenario_does_not_take_its_finish(
    tmp_path: Path, catalog: QiCatalog
) -> None:
    write = Writers(tmp_path, catalog)
    write("controller").record(_started("session", catalog))
    _scenario(write("controller"), started=True)
    write("bake-1").record(_started("bake", catalog))
    write("bake-1").record(RunFinished(run_id="bake", exit_status=0, scenarios=0, failed=0))
    _scenario(write("controller"), started=False)
    write("controller").record(RunFinished(run_id="session", exit_status=0, scenarios=1, failed=0))

    bundle = write.publish()

    (scenario,) = bundle.tenants["TENANT_004"].scenarios
    assert (scenario.run_id, scenario.outcome) == ("session", "passed")
    assert [run.run_id for run in bundle.runs] == ["session", "bake"]


def test_a_worker_writes_for_the_run_open_when_it_wrote(tmp_path: Path, catalog: QiCatalog) -> None:
    write = Writers(tmp_path, catalog)
    write("controller").record(_started("crashed", catalog))  # never finished
    write("controller").record(_started("resumed", catalog))
    _scenario(write("gw0"), started=True)
    write("bake-1").record(_started("bake", catalog))  # nested in the resumed run
    _scenario(write("gw0"), started=False)

    bundle = write.publish()

    (scenario,) = bundle.tenants["TENANT_004"].scenarios
    assert (scenario.run_id, scenario.outcome) == ("resumed", "passed")
