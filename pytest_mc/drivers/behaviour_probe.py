"""Data-plane probes that check what a state change does, not what the target says about it.

Two probes, both through `DataPlaneClient`: the passive-write probe (after a rollback to A/P,
writes sent straight to the passive region, then both regions read once replication has had
a lag-gate window to carry what the active region took) and the split sample (which region
served each of N requests through the GLB, as the client sees it in the answer).
"""

from __future__ import annotations

import time
import uuid
from collections import Counter

from pydantic import BaseModel, ConfigDict, Field

from pytest_mc.drivers.dataplane import DataPlaneClient, Entity, QueryAnswer, statuses

_STRICT = ConfigDict(extra="forbid", frozen=True)

# How long (wall) a marker written on the active region may take to reach the passive one
# before the probe gives up: far beyond any lag a healthy staging shows on a busy machine.
MARKER_TIMEOUT_WALL_SECONDS = 20.0
# Writes the passive-write probe sends straight to the passive region, and through the GLB.
PASSIVE_WRITES = 5
GLB_WRITES = 5


class ProbedWrite(BaseModel):
    """One write the probe sent and what each region holds under its key afterwards."""

    model_config = _STRICT
    key: str
    value: str
    answer: QueryAnswer
    on_active: Entity | None = None
    on_passive: Entity | None = None

    def problem(self, active: str, passive: str) -> str | None:
        """What is wrong with this write's outcome, or None.

        A write the passive region refused must land nowhere. One it redirected to the active
        region must be there with the suite's value, and may appear on the passive region only
        as the active region's copy (same value and version: replication). A write the passive
        region took itself is the failure the probe exists to find."""
        sent = f"write of {self.key!r} sent to {self.answer.via}"
        answer = self.answer.describe()
        if self.answer.ok and self.answer.served_by != active:
            return f"{sent} was accepted ({answer}), not refused or redirected to {active}"
        if not self.answer.ok:
            landed = [
                region
                for region, held in ((passive, self.on_passive), (active, self.on_active))
                if held is not None and held.value == self.value
            ]
            if landed:
                return f"{sent} was refused ({answer}) but landed in {', '.join(landed)}"
            return None
        if self.on_active is None or self.on_active.value != self.value:
            return f"{sent} was redirected ({answer}) but {active} does not hold it"
        passive_copy = self.on_passive
        if passive_copy is not None and (
            passive_copy.value != self.on_active.value
            or passive_copy.version != self.on_active.version
        ):
            return (
                f"{sent} was redirected ({answer}) but {passive} holds value "
                f"{passive_copy.value!r} version {passive_copy.version}, not {active}'s copy "
                f"(value {self.on_active.value!r} version {self.on_active.version})"
            )
        return None


class PassiveWriteReport(BaseModel):
    """What the passive-write probe sent and read, and what it makes of it."""

    model_config = _STRICT
    tenant: str
    active: str
    passive: str
    direct: tuple[ProbedWrite, ...]
    through_glb: tuple[ProbedWrite, ...]
    marker_key: str
    marker_replicated_after_wall_seconds: float | None = Field(
        description="how long the active region's marker took to appear on the passive one"
    )
    settle_wall_seconds: float = Field(description="the lag-gate window waited after that")

    def problems(self) -> list[str]:
        found = [
            problem
            for write in self.direct
            if (problem := write.problem(self.active, self.passive)) is not None
        ]
        for write in self.through_glb:
            if write.answer.ok and write.answer.served_by != self.active:
                found.append(
                    f"write of {write.key!r} through the GLB was served by "
                    f"{write.answer.served_by or 'an unknown region'}, not the active {self.active}"
                )
            elif (
                write.on_passive is not None
                and write.on_passive.value == write.value
                and (write.on_active is None or write.on_active.value != write.value)
            ):
                found.append(
                    f"write of {write.key!r} through the GLB is on the passive {self.passive} "
                    f"but not on the active {self.active}: it landed on the passive side"
                )
        return found


def probe_passive_writes(
    client: DataPlaneClient,
    tenant: str,
    *,
    active: str,
    passive: str,
    lag_window_wall_seconds: float,
    poll_wall_seconds: float,
    marker_timeout_wall_seconds: float = MARKER_TIMEOUT_WALL_SECONDS,
) -> PassiveWriteReport:
    """Write straight to `passive` and through the GLB, then a marker on `active`; once the
    marker has reached `passive` and a further lag-gate window has passed, read every key the
    probe wrote in both regions."""
    run = uuid.uuid4().hex[:12]
    direct = [
        _write(client, tenant, f"mc-probe-{run}-passive-{n}", via=passive)
        for n in range(PASSIVE_WRITES)
    ]
    through_glb = [
        _write(client, tenant, f"mc-probe-{run}-glb-{n}", via="glb") for n in range(GLB_WRITES)
    ]
    # Written last on the active region: replication carries changes in order, so once it is
    # on the passive region every earlier change the active region took is there too.
    marker = _write(client, tenant, f"mc-probe-{run}-marker", via=active)
    if not marker.answer.ok:
        raise AssertionError(
            f"behaviour A/P: the active region {active} of {tenant} refused the probe's marker "
            f"write ({marker.answer.describe()}); nothing can be told about the passive side"
        )
    started = time.monotonic()
    replicated_after: float | None = None
    while time.monotonic() - started < marker_timeout_wall_seconds:
        if client.get(tenant, marker.key, via=passive).ok:
            replicated_after = time.monotonic() - started
            break
        time.sleep(poll_wall_seconds)
    time.sleep(lag_window_wall_seconds)
    return PassiveWriteReport(
        tenant=tenant,
        active=active,
        passive=passive,
        direct=tuple(_read_back(client, tenant, w, active, passive) for w in direct),
        through_glb=tuple(_read_back(client, tenant, w, active, passive) for w in through_glb),
        marker_key=marker.key,
        marker_replicated_after_wall_seconds=replicated_after,
        settle_wall_seconds=lag_window_wall_seconds,
    )


def _write(client: DataPlaneClient, tenant: str, key: str, *, via: str) -> ProbedWrite:
    value = f"{key}-value"
    answer = client.put(tenant, key, value, via=via, op_id=f"{key}-op")
    return ProbedWrite(key=key, value=value, answer=answer)


def _read_back(
    client: DataPlaneClient, tenant: str, write: ProbedWrite, active: str, passive: str
) -> ProbedWrite:
    return write.model_copy(
        update={
            "on_active": client.get(tenant, write.key, via=active).entity,
            "on_passive": client.get(tenant, write.key, via=passive).entity,
        }
    )


class SplitSample(BaseModel):
    """Which region served each of `requests` reads through the GLB, as the client saw it."""

    model_config = _STRICT
    tenant: str
    requests: int
    served_by: dict[str, int] = Field(description="answers per serving region")
    unknown: int = Field(description="answers that named no serving region")
    statuses: dict[str, int]

    @property
    def known(self) -> int:
        return sum(self.served_by.values())


def sample_split(client: DataPlaneClient, tenant: str, *, requests: int) -> SplitSample:
    """Send `requests` persisted reads of `tenant` through the GLB and count who served each."""
    answers = [client.list_keys(tenant, limit=1) for _ in range(requests)]
    served = Counter(a.served_by for a in answers if a.served_by is not None)
    return SplitSample(
        tenant=tenant,
        requests=requests,
        served_by=dict(sorted(served.items())),
        unknown=sum(1 for a in answers if a.served_by is None),
        statuses=statuses(answers),
    )
