"""The applier: pulls a peer region's change feed (long-poll) and applies it locally.

Lag of a tenant into this region = now − origin time of its oldest change seen at the source
but not yet applied here (0 when caught up); while the peer cannot be reached (partition) it is
now − last successful contact (once the link has worked at least once), the most the
target can be behind. Faults applied here:
``replication-delay`` (hold a tenant's changes until they are ``delay_seconds`` old, wall) and
``replication-partition`` (no contact with the peer).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import time
from collections import deque
from collections.abc import Callable

from mc_staging.defects import LATE_SHIPPING_PLAN_SECONDS
from mc_staging.model import RuntimeConfig, faults_for, region_jurisdiction
from mc_staging.store import ApplyOutcome, Change, RegionStore
from mc_staging.upstream import UpstreamError, UpstreamPool

LOG = logging.getLogger("mc_staging.replication")


def leaked(config: RuntimeConfig, tenant: str, region_id: str) -> str | None:
    """Under the `replication-leaks-outside` defect, the peer whose changes of `tenant`
    region `region_id` applies although it is outside the tenant's jurisdiction: the tenant's
    primary (one source, so the copy never counts a conflict). None where the tenant may live."""
    spec = config.tenants.get(tenant)
    if spec is None or region_id in spec.regions:
        return None
    if region_jurisdiction(config, region_id) == spec.residency:
        return None
    return spec.primary


class PeerApplier:
    """Replicates changes from one peer region into this region."""

    def __init__(
        self,
        store: RegionStore,
        region_id: str,
        peer_id: str,
        config: Callable[[], RuntimeConfig],
        secret: str,
        on_applied: Callable[[str, list[ApplyOutcome]], None],
        *,
        leaks_outside: bool = False,
        counts_from_receipt: bool = False,
    ) -> None:
        self.store = store
        # deliberate defect `lag-counted-from-receipt`: changes spend the shipping delay in
        # transit, and their lag is counted from their arrival (see `_receive`)
        self.counts_from_receipt = counts_from_receipt
        self.in_transit: list[Change] = []
        # deliberate defect `replication-leaks-outside`: also replicate a tenant whose
        # jurisdiction this region is outside of, from its primary (see `leaked`)
        self.leaks_outside = leaks_outside
        self.region_id = region_id
        self.peer_id = peer_id
        self.config = config
        self.secret = secret
        self.on_applied = on_applied
        self.held: list[Change] = []
        self.fetched_seq = store.applied_seq(peer_id)
        self.last_contact = time.time()
        self.contact_ok = True
        # staleness from lost contact counts only once the link has worked: while both
        # regions start, the peer is simply not up yet
        self.ever_contacted = False
        self.recent_lags: deque[float] = deque(maxlen=20000)
        self.upstream = UpstreamPool(max_idle_per_host=2)

    def _peer_url(self) -> str | None:
        for region in self.config().regions:
            if region.id == self.peer_id:
                return region.url
        return None

    def _replicated(self, tenant: str) -> bool:
        spec = self.config().tenants.get(tenant)
        if spec is None:
            return False
        if self.region_id in spec.regions and self.peer_id in spec.regions:
            return True
        return self.leaks_outside and leaked(self.config(), tenant, self.region_id) == self.peer_id

    def _partitioned(self) -> bool:
        for fault in faults_for(self.config(), "replication-partition"):
            if fault.region in (None, self.region_id, self.peer_id):
                return True
        return False

    def _delay_for(self, tenant: str) -> float:
        delays = [
            float(fault.params.get("delay_seconds", 0.0))
            for fault in faults_for(self.config(), "replication-delay", tenant=tenant)
            if fault.region in (None, self.region_id)
        ]
        return max(delays, default=0.0)

    def lag_by_tenant(self) -> dict[str, float]:
        now = time.time()
        lags: dict[str, float] = {}
        for change in self.held:
            lags[change.tenant] = max(lags.get(change.tenant, 0.0), now - change.origin_ts)
        if not self.contact_ok and self.ever_contacted:
            stale = now - self.last_contact
            for tenant, spec in self.config().tenants.items():
                if self.region_id in spec.regions and self.peer_id in spec.regions:
                    lags[tenant] = max(lags.get(tenant, 0.0), stale)
        return lags

    async def run(self) -> None:
        while True:
            try:
                await self._step()
            except (UpstreamError, ValueError):
                self.contact_ok = False
                await asyncio.sleep(0.1)
            except Exception:  # never let one bad step stop replication for good
                LOG.exception(
                    "applier %s <- %s: step failed; retrying", self.region_id, self.peer_id
                )
                self.contact_ok = False
                await asyncio.sleep(0.1)

    async def _step(self) -> None:
        url = self._peer_url()
        if url is None or self._partitioned():
            self.contact_ok = False
            await asyncio.sleep(0.05)
            return
        wait = 0.0 if self.held or self.in_transit else 0.5
        status, content = await self.upstream.request(
            "GET",
            f"{url}/internal/feed?since={self.fetched_seq}&wait={wait}&for_region={self.region_id}",
            b"",
            {"authorization": f"Bearer {self.secret}"},
            timeout=wait + 5.0,
        )
        if status != 200:
            raise UpstreamError(f"feed answered HTTP {status}")
        body = json.loads(content)
        self.last_contact = time.time()
        self.contact_ok = True
        self.ever_contacted = True
        for raw in body["entries"]:
            change = Change.from_json(raw)
            self.fetched_seq = max(self.fetched_seq, change.seq)
            if self._replicated(change.tenant):
                (self.in_transit if self.counts_from_receipt else self.held).append(change)
        if not body["entries"]:
            self.fetched_seq = max(self.fetched_seq, int(body["head_seq"]))
        self._receive()
        self._apply_ready()
        if self.held or self.in_transit:
            await asyncio.sleep(0.02)

    def _receive(self) -> None:
        """Deliberate defect `lag-counted-from-receipt`: a change arrives once it is the
        shipping delay old, and from then on it carries its arrival as its origin time, so
        every lag figure of this region starts there."""
        if not self.in_transit:
            return
        now = time.time()
        late = LATE_SHIPPING_PLAN_SECONDS / self.config().time_scale
        arrived = 0
        for change in self.in_transit:  # in feed order: a later change never overtakes
            if now - change.origin_ts < late:
                break
            self.held.append(dataclasses.replace(change, origin_ts=now))
            arrived += 1
        del self.in_transit[:arrived]

    def _apply_ready(self) -> None:
        now = time.time()
        ready: list[Change] = []
        waiting: list[Change] = []
        blocked_tenants: set[str] = set()
        for change in self.held:
            # per-tenant order is kept: once one change of a tenant waits, later ones wait too
            delay = self._delay_for(change.tenant)
            if change.tenant in blocked_tenants or now - change.origin_ts < delay:
                blocked_tenants.add(change.tenant)
                waiting.append(change)
            else:
                ready.append(change)
        if not ready and self.held:
            return
        pending = waiting + self.in_transit
        applied_seq = (min(c.seq for c in pending) - 1) if pending else self.fetched_seq
        outcomes = self.store.apply(self.peer_id, ready, applied_seq)
        self.held = waiting
        for outcome in outcomes:
            if outcome.applied:
                self.recent_lags.append(outcome.lag_seconds)
        self.on_applied(self.peer_id, outcomes)
