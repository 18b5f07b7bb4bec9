"""The target profile: what the suite needs to know about a staging (DESIGN §4).

A profile is YAML validated by `TargetProfile` (extra keys refused). It names the control
command, the GLB, the metric source, regions and tenants, and the safety fences: the
`environment` and `allowed_hosts` (the rule they feed is `pytest_mc.target.fence`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from pytest_mc.inputs import FiniteNumber, Flag

_STRICT = ConfigDict(extra="forbid", frozen=True)
# Numbers are FiniteNumber (an int is fine; `true`, "5" and `.inf` are refused). A time the
# suite waits for is bounded: past a day it is a typo, and past ~1e9 s the OS refuses it.
MAX_TIMEOUT_SECONDS = 86_400.0
MAX_SAMPLE_INTERVAL_SECONDS = 3_600.0


class ControlSettings(BaseModel):
    """How to run the target's control CLI (`mc` or a prefix like `mc-staging --state-dir X`)."""

    model_config = _STRICT
    command: tuple[str, ...] = Field(default=("mc",), min_length=1)
    timeout_seconds: FiniteNumber = Field(default=30.0, gt=0, le=MAX_TIMEOUT_SECONDS)
    api_url: str | None = Field(
        default=None,
        description="the same commands over HTTP (optional; authenticated with the admin "
        "secret): the KPI campaign's channel when set, the CLI otherwise",
    )


class AdminSettings(BaseModel):
    """Where the authenticated fault/admin API is, and where its secret lives (never inline)."""

    model_config = _STRICT
    url: str
    token_file: Path | None = None
    token_env: str | None = None


class MetricEndpoint(BaseModel):
    """One Prometheus text-format endpoint, scraped directly."""

    model_config = _STRICT
    component: str
    url: str


class MetricSettings(BaseModel):
    """Where metrics come from: direct scrapes or a Prometheus server's HTTP API."""

    model_config = _STRICT
    source: Literal["scrape", "prometheus"] = "scrape"
    sample_interval_seconds: FiniteNumber = Field(
        default=15.0, gt=0, le=MAX_SAMPLE_INTERVAL_SECONDS, description="wall seconds"
    )
    endpoints: tuple[MetricEndpoint, ...] = ()
    prometheus_url: str | None = None

    @model_validator(mode="after")
    def _source_is_reachable(self) -> MetricSettings:
        if self.source == "prometheus" and not self.prometheus_url:
            raise ValueError("metrics.source is 'prometheus' but metrics.prometheus_url is empty")
        if self.source == "scrape" and not self.endpoints:
            raise ValueError("metrics.source is 'scrape' but metrics.endpoints is empty")
        return self


class Region(BaseModel):
    """A region of the target and the jurisdiction its data lives under."""

    model_config = _STRICT
    id: str
    jurisdiction: str
    url: str | None = None


class SloBaseline(BaseModel):
    """A tenant's SLO baseline from its readiness record."""

    model_config = _STRICT
    availability: FiniteNumber = Field(gt=0, le=1)
    latency_p95_ms: FiniteNumber = Field(gt=0)


class Tenant(BaseModel):
    """A tenant under verification: its wave, residency, mode and regions."""

    model_config = _STRICT
    id: str
    wave: Literal["ga", "A", "B"]
    residency: str
    mode: Literal["active-active", "active-passive"] = "active-active"
    regions: tuple[str, ...] = Field(min_length=1)
    autonomy_pilot: Flag = False
    slo_baseline: SloBaseline


class K6Settings(BaseModel):
    """k6 settings: an explicit binary wins over PATH and the `k6` package."""

    model_config = _STRICT
    binary: Path | None = None


class ChaosSettings(BaseModel):
    """Chaos Toolkit settings: the experiments directory (the project's `chaos/` if unset)."""

    model_config = _STRICT
    experiments_dir: Path | None = None


class TargetProfile(BaseModel):
    """Everything the suite knows about a target; the file format of `--mc-target`."""

    model_config = _STRICT
    name: str
    environment: Literal["staging", "production", "development"]
    allowed_hosts: tuple[str, ...] = Field(min_length=1)
    time_scale: FiniteNumber = Field(
        default=1.0, ge=1.0, description="plan seconds per wall second; 1 for a real staging"
    )
    control: ControlSettings = ControlSettings()
    glb_url: str
    admin: AdminSettings | None = None
    metrics: MetricSettings
    regions: tuple[Region, ...] = Field(min_length=1)
    tenants: tuple[Tenant, ...] = Field(min_length=1)
    k6: K6Settings = K6Settings()
    chaos: ChaosSettings = ChaosSettings()

    @model_validator(mode="after")
    def _consistent(self) -> TargetProfile:
        region_ids = {region.id: region for region in self.regions}
        for tenant in self.tenants:
            for region_id in tenant.regions:
                region = region_ids.get(region_id)
                if region is None:
                    raise ValueError(
                        f"tenant {tenant.id} names region {region_id!r}, which is not in regions "
                        f"({', '.join(sorted(region_ids))})"
                    )
                if region.jurisdiction != tenant.residency:
                    raise ValueError(
                        f"tenant {tenant.id} (residency {tenant.residency!r}) is placed in region "
                        f"{region_id!r} of jurisdiction {region.jurisdiction!r}"
                    )
        return self

    @property
    def is_rehearsal(self) -> bool:
        """A compressed-time run: it can never satisfy a GA DoD item (DESIGN §5)."""
        return self.time_scale != 1.0

    def __repr__(self) -> str:
        # shown wherever the profile is an argument (every step of an Allure report)
        return (
            f"TargetProfile({self.name!r}, {self.environment}, time scale {self.time_scale:g}, "
            f"{len(self.tenants)} tenants)"
        )

    def tenant(self, tenant_id: str) -> Tenant:
        for tenant in self.tenants:
            if tenant.id == tenant_id:
                return tenant
        known = ", ".join(t.id for t in self.tenants)
        raise KeyError(f"tenant {tenant_id!r} is not in profile {self.name!r} (known: {known})")

    def urls(self) -> list[tuple[str, str]]:
        """Every (field, url) the suite may send traffic to."""
        found = [("glb_url", self.glb_url)]
        if self.control.api_url:
            found.append(("control.api_url", self.control.api_url))
        if self.admin is not None:
            found.append(("admin.url", self.admin.url))
        found += [(f"metrics.endpoints[{e.component}]", e.url) for e in self.metrics.endpoints]
        if self.metrics.prometheus_url:
            found.append(("metrics.prometheus_url", self.metrics.prometheus_url))
        found += [(f"regions[{r.id}].url", r.url) for r in self.regions if r.url]
        return found
