"""Hot-key read cache of a region with the TTL auto-tune flag.

With auto-tune on, a key's TTL grows with how often it is read between writes (hot keys live
longer, up to ``max_ttl``); with it off every key gets ``base_ttl``. Local writes and replicated
applies invalidate the key, so the cache never serves a value older than the store's.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass


@dataclass
class _Entry:
    value: str | None
    version: int
    expires_at: float
    ttl: float


class HotKeyCache:
    def __init__(self, capacity: int = 2048, base_ttl: float = 1.0, max_ttl: float = 5.0) -> None:
        self.capacity = capacity
        self.base_ttl = base_ttl
        self.max_ttl = max_ttl
        self._entries: OrderedDict[tuple[str, str], _Entry] = OrderedDict()
        self._reads: dict[tuple[str, str], int] = {}

    def get(self, tenant: str, key: str) -> tuple[str | None, int] | None:
        slot = (tenant, key)
        self._reads[slot] = self._reads.get(slot, 0) + 1
        entry = self._entries.get(slot)
        if entry is None or entry.expires_at < time.monotonic():
            if entry is not None:
                del self._entries[slot]
            return None
        self._entries.move_to_end(slot)
        return entry.value, entry.version

    def put(self, tenant: str, key: str, value: str | None, version: int, autotune: bool) -> None:
        slot = (tenant, key)
        ttl = self.base_ttl
        if autotune:
            reads = self._reads.get(slot, 0)
            ttl = min(self.max_ttl, self.base_ttl * (1.0 + reads.bit_length() / 2.0))
        self._entries[slot] = _Entry(value, version, time.monotonic() + ttl, ttl)
        self._entries.move_to_end(slot)
        while len(self._entries) > self.capacity:
            old, _ = self._entries.popitem(last=False)
            self._reads.pop(old, None)

    def invalidate(self, tenant: str, key: str) -> None:
        slot = (tenant, key)
        self._entries.pop(slot, None)
        self._reads[slot] = 0  # a write resets hotness: write-heavy keys keep short TTLs

    def mean_ttl(self, tenant: str) -> float:
        ttls = [e.ttl for (t, _), e in self._entries.items() if t == tenant]
        return sum(ttls) / len(ttls) if ttls else 0.0

    def clear_tenant(self, tenant: str) -> None:
        for slot in [s for s in self._entries if s[0] == tenant]:
            del self._entries[slot]
