"""The DR drill driver: kill a tenant's serving region and measure RPO and RTO from real data.

A writer streams sequenced marker records through the GLB; the region-outage experiment (run
by the chaos driver, so rollbacks always run) kills the region; the survivor's markers are
read directly right after the loss. RPO and RTO come from those acknowledged markers, the
region is restored and both regions must converge. Definitions: docs/dr-drills.md.
"""

from __future__ import annotations

import itertools
import json
import statistics
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field

from pytest_mc.drivers.chaos import ChaosActivity, ChaosResult, run_experiment
from pytest_mc.drivers.control import ControlClient
from pytest_mc.drivers.runner import ToolRunner
from pytest_mc.errors import InputError, UnreachableError
from pytest_mc.evidence.records import DrillEvent, DrillTimeline
from pytest_mc.target.fence import require_change_allowed
from pytest_mc.target.profile import TargetProfile

_STRICT = ConfigDict(extra="forbid", frozen=True)
_REQUEST_TIMEOUT = 5.0
_LIST_LIMIT = 1_000_000


class DrillResult(BaseModel):
    """One DR drill: what was lost, RPO/RTO in wall and plan seconds, the timeline."""

    model_config = _STRICT
    drill_id: str
    tenant: str
    mode: Literal["active-active", "active-passive"]
    region_lost: str
    survivor: str
    time_scale: float = Field(ge=1.0)
    markers_acknowledged: int = Field(ge=0)
    markers_failed: int = Field(ge=0, description="writes not acknowledged during the drill")
    markers_missing_at_loss: int = Field(ge=0)
    newest_missing_seq: int | None = None
    consistent_prefix_seq: int = Field(ge=0, description="all markers up to it were kept")
    rpo_wall_seconds: float = Field(ge=0)
    rpo_plan_seconds: float = Field(ge=0)
    rto_wall_seconds: float | None = Field(default=None, ge=0)
    rto_plan_seconds: float | None = Field(default=None, ge=0)
    marker_interval_wall_seconds: float | None = Field(
        default=None, description="median gap between acknowledgements: the RPO resolution"
    )
    loss_at: datetime
    served_again_at: datetime | None = None
    restored_at: datetime | None = None
    converged: bool
    converged_at: datetime | None = None
    operator_failover: bool
    chaos: ChaosResult
    events: tuple[DrillEvent, ...]

    def timeline(self, nodeid: str | None = None) -> DrillTimeline:
        """The evidence record of this drill (RPO/RTO in plan seconds)."""
        return DrillTimeline(
            tenant=self.tenant,
            nodeid=nodeid,
            region_lost=self.region_lost,
            events=self.events,
            rpo_seconds=self.rpo_plan_seconds,
            rto_seconds=self.rto_plan_seconds,
        )


@dataclass(frozen=True)
class _Write:
    seq: int
    sent_at: float
    done_at: float
    acked: bool
    region: str | None


@dataclass
class _Writer:
    """Writes `drill:<id>:<seq>` markers through the GLB until stopped; records every answer."""

    glb_url: str
    tenant: str
    drill_id: str
    writes: list[_Write] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def run(self) -> None:
        url = f"{self.glb_url.rstrip('/')}/v1/tenants/{self.tenant}/query"
        with httpx.Client(timeout=_REQUEST_TIMEOUT) as client:
            seq = 0
            while not self.stop.is_set():
                seq += 1
                body = {
                    "id": "put_entity",
                    "variables": {
                        "key": marker_key(self.drill_id, seq),
                        "value": json.dumps({"drill": self.drill_id, "seq": seq}),
                    },
                }
                headers = {
                    "X-MC-Purpose": "service",
                    "Idempotency-Key": f"drill-{self.drill_id}-{seq}",
                }
                sent = time.time()
                try:
                    response = client.post(url, json=body, headers=headers)
                    acked, region = response.status_code == 200, response.headers.get("x-mc-region")
                except httpx.HTTPError:
                    acked, region = False, None
                with self.lock:
                    self.writes.append(_Write(seq, sent, time.time(), acked, region))
                if not acked:
                    self.stop.wait(0.02)  # do not spin on a dead tenant

    def snapshot(self) -> list[_Write]:
        with self.lock:
            return list(self.writes)


def marker_key(drill_id: str, seq: int) -> str:
    return f"drill:{drill_id}:{seq}"


def read_markers(region_url: str, tenant: str, drill_id: str) -> set[int]:
    """The marker sequence numbers a region holds, read directly from its data plane."""
    response = httpx.post(
        f"{region_url.rstrip('/')}/v1/tenants/{tenant}/query",
        json={"id": "list_entities", "variables": {"limit": _LIST_LIMIT}},
        headers={"X-MC-Purpose": "service"},
        timeout=_REQUEST_TIMEOUT * 2,
    )
    if response.status_code != 200:
        raise UnreachableError(
            f"reading drill markers of {tenant} from {region_url} failed: HTTP "
            f"{response.status_code} {response.text[:160]}"
        )
    prefix = f"drill:{drill_id}:"
    keys = response.json().get("data", {}).get("keys", [])
    return {int(key[len(prefix) :]) for key in keys if str(key).startswith(prefix)}


def measure_rpo(writes: list[_Write], present: set[int]) -> tuple[float, int, int | None, int]:
    """RPO from acknowledged markers and the markers the survivor kept.

    Returns (rpo, consistent prefix seq, newest missing seq, missing count). The RPO is the
    age of the data lost: ack time of the newest acknowledged marker missing at the survivor
    minus ack time of the last marker of the survivor's consistent prefix (every acknowledged
    marker up to it is present); 0 when nothing acknowledged is missing."""
    acked = sorted((w for w in writes if w.acked), key=lambda w: w.seq)
    missing = [w for w in acked if w.seq not in present]
    if not missing:
        return 0.0, acked[-1].seq if acked else 0, None, 0
    prefix = [w for w in acked if w.seq < missing[0].seq]
    start = prefix[-1].done_at if prefix else min(w.sent_at for w in writes)
    newest = max(missing, key=lambda w: w.done_at)
    return (
        max(0.0, newest.done_at - start),
        prefix[-1].seq if prefix else 0,
        newest.seq,
        len(missing),
    )


def served_again(writes: list[_Write], loss_at: float, until: float) -> _Write | None:
    """The write that marks the tenant served again: the first acknowledged write sent after
    the loss and after the last failed write of the outage (before `until`, the restore)."""
    outage = [w for w in writes if loss_at <= w.sent_at < until]
    failures = [w.sent_at for w in outage if not w.acked]
    after = max(failures) if failures else loss_at
    for write in outage:
        if write.acked and write.sent_at >= after:
            return write
    return None


def run_drill(
    profile: TargetProfile,
    tenant: str,
    *,
    workdir: Path,
    warmup_seconds: float = 1.0,
    outage_seconds: float = 2.0,
    settle_seconds: float = 0.3,
    converge_timeout_seconds: float = 30.0,
    control: ControlClient | None = None,
) -> DrillResult:
    """Run one DR drill on `tenant`: writer, kill its serving region, measure, restore, converge.

    A/P tenants get an operator failover (`dr failover`) right after the loss and a failback
    after the restore; A/A tenants rely on the GLB alone. The chaos journal goes to `workdir`."""
    require_change_allowed(profile, what=f"a DR drill on {tenant}")
    try:
        declared = profile.tenant(tenant)
    except KeyError as exc:
        raise InputError(str(exc.args[0])) from None
    control = control or ControlClient(profile, ToolRunner())
    status = control.tenant_status(tenant)
    lost = status.failed_over_to or status.primary or declared.regions[0]
    survivors = [r for r in status.regions if r != lost]
    urls = {r.id: r.url for r in profile.regions}
    if not survivors or not all(urls.get(r) for r in (lost, *survivors)):
        raise InputError(
            f"a DR drill on {tenant} needs two regions with urls in the profile "
            f"(tenant regions {list(status.regions)}, region urls for {sorted(urls)})"
        )
    survivor = survivors[0]
    operator_failover = status.mode == "active-passive"
    drill_id = uuid.uuid4().hex[:10]
    events: list[tuple[float, str, str | None]] = []
    writer = _Writer(profile.glb_url, tenant, drill_id)
    thread = threading.Thread(target=writer.run, name=f"drill-writer-{drill_id}", daemon=True)
    events.append((time.time(), "writer_started", f"markers drill:{drill_id}:<seq> via GLB"))
    thread.start()
    loss: dict[str, float] = {}
    present: set[int] = set()

    def on_activity(activity: ChaosActivity) -> None:
        if activity.phase != "method" or activity.status != "succeeded" or loss:
            return
        loss["requested"] = activity.started_at.timestamp()
        loss["at"] = activity.ended_at.timestamp()
        time.sleep(settle_seconds)  # let appliers finish batches they already received
        loss["snapshot"] = time.time()
        present.update(read_markers(str(urls[survivor]), tenant, drill_id))
        if operator_failover:
            loss["failover"] = time.time()
            control.failover(tenant, survivor)

    try:
        _await_first_acks(writer, warmup_seconds, tenant)
        chaos = run_experiment(
            profile,
            "region-outage",
            journal_path=workdir / f"drill-{drill_id}-chaos-journal.json",
            tenant=tenant,
            region=lost,
            configuration={"hold_seconds": outage_seconds},
            on_activity=on_activity,
        )
        time.sleep(settle_seconds)  # a few writes after the restore, to both regions
    finally:
        writer.stop.set()
        thread.join(timeout=_REQUEST_TIMEOUT * 2)
    events.append((time.time(), "writer_stopped", f"{len(writer.writes)} writes"))
    if "at" not in loss:
        raise UnreachableError(
            f"the region-outage experiment did not kill {lost} (status {chaos.status}); "
            f"see its journal {chaos.journal_path}"
        )
    if operator_failover:
        control.failback(tenant)
        events.append((time.time(), "failback", f"dr failback to {lost}"))
    writes = writer.snapshot()
    rollback = [a for a in chaos.activities if a.phase == "rollback" and a.status == "succeeded"]
    restored_at = rollback[-1].ended_at.timestamp() if rollback else None
    rollback_started = rollback[0].started_at.timestamp() if rollback else time.time()
    before_snapshot = [w for w in writes if w.done_at <= loss["snapshot"]]
    rpo, prefix_seq, newest_missing, missing = measure_rpo(before_snapshot, present)
    served = served_again(writes, loss["at"], rollback_started)
    rto = served.done_at - loss["at"] if served else None
    converged_at = _await_convergence(
        writes, [str(urls[lost]), str(urls[survivor])], tenant, drill_id, converge_timeout_seconds
    )
    acked_times = sorted(w.done_at for w in writes if w.acked)
    gaps = [b - a for a, b in itertools.pairwise(acked_times)]
    events += [
        (loss["requested"], "outage_injected", f"region-crash of {lost} requested"),
        (loss["at"], "region_lost", f"{lost} killed; survivor {survivor}"),
        (
            loss["snapshot"],
            "survivor_read",
            f"{len(present)} markers at {survivor}, {missing} acknowledged markers missing",
        ),
    ]
    if "failover" in loss:
        events.append((loss["failover"], "failover_requested", f"dr failover to {survivor}"))
    if served is not None:
        events.append(
            (served.done_at, "served_again", f"marker {served.seq} acknowledged by {served.region}")
        )
    events.append((rollback_started, "rollback_started", "region-outage rollback"))
    first_ack = next((w for w in writes if w.acked), None)
    if first_ack is not None:
        events.append((first_ack.done_at, "first_ack", f"marker {first_ack.seq}"))
    if chaos.steady_state_restored:
        events.append((chaos.ended_at.timestamp(), "steady_state_restored", chaos.experiment_title))
    if restored_at is not None:
        events.append((restored_at, "region_restored", f"{lost} restarted by the rollback"))
    if converged_at is not None:
        events.append(
            (converged_at, "converged", f"all acknowledged markers in {lost} and {survivor}")
        )
    scale = profile.time_scale
    return DrillResult(
        drill_id=drill_id,
        tenant=tenant,
        mode=status.mode,
        region_lost=lost,
        survivor=survivor,
        time_scale=scale,
        markers_acknowledged=sum(1 for w in writes if w.acked),
        markers_failed=sum(1 for w in writes if not w.acked),
        markers_missing_at_loss=missing,
        newest_missing_seq=newest_missing,
        consistent_prefix_seq=prefix_seq,
        rpo_wall_seconds=rpo,
        rpo_plan_seconds=rpo * scale,
        rto_wall_seconds=rto,
        rto_plan_seconds=rto * scale if rto is not None else None,
        marker_interval_wall_seconds=statistics.median(gaps) if gaps else None,
        loss_at=_dt(loss["at"]),
        served_again_at=_dt(served.done_at) if served else None,
        restored_at=_dt(restored_at) if restored_at is not None else None,
        converged=converged_at is not None,
        converged_at=_dt(converged_at) if converged_at is not None else None,
        operator_failover=operator_failover,
        chaos=chaos,
        events=tuple(
            DrillEvent(at=_dt(at), event=name, detail=detail)
            for at, name, detail in sorted(events, key=lambda e: e[0])
        ),
    )


def _await_first_acks(writer: _Writer, warmup_seconds: float, tenant: str) -> None:
    deadline = time.monotonic() + max(warmup_seconds, 0.0) + 15.0
    started = time.monotonic()
    while time.monotonic() < deadline:
        acked = sum(1 for w in writer.snapshot() if w.acked)
        if acked >= 5 and time.monotonic() - started >= warmup_seconds:
            return
        time.sleep(0.05)
    raise UnreachableError(
        f"tenant {tenant} acknowledged too few writes through the GLB before the drill "
        f"({sum(1 for w in writer.snapshot() if w.acked)} in {warmup_seconds + 15:g}s); "
        f"check the target's health"
    )


def _await_convergence(
    writes: list[_Write], region_urls: list[str], tenant: str, drill_id: str, timeout: float
) -> float | None:
    """When every acknowledged marker is in every region, or None after `timeout`."""
    expected = {w.seq for w in writes if w.acked}
    deadline = time.monotonic() + timeout
    while True:
        try:
            if all(expected <= read_markers(url, tenant, drill_id) for url in region_urls):
                return time.time()
        except (UnreachableError, httpx.HTTPError):
            pass  # a restarting region; try again until the deadline
        if time.monotonic() > deadline:
            return None
        time.sleep(0.2)


def _dt(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, tz=UTC)
