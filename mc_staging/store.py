"""One region's SQLite (WAL) store: base entities, the change feed, derived entities, op ids.

Versions are Lamport counters ``lamport * 100 + region_index`` so every write has a unique,
totally ordered version. Conflict rule (documented in docs/reference-staging.md): an incoming
change whose ``prev_version`` is not the local version was written concurrently with a local
write; it is counted as a conflict and the higher version wins on both sides (last writer by
Lamport order, region index breaks ties), so both regions converge.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS entities (
  tenant TEXT NOT NULL, key TEXT NOT NULL, value TEXT, version INTEGER NOT NULL,
  origin_region TEXT NOT NULL, updated_at REAL NOT NULL, deleted INTEGER NOT NULL DEFAULT 0,
  last_remote_version INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (tenant, key));
CREATE TABLE IF NOT EXISTS feed (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, tenant TEXT NOT NULL, key TEXT NOT NULL, value TEXT,
  version INTEGER NOT NULL, prev_version INTEGER NOT NULL, origin_ts REAL NOT NULL,
  op_id TEXT, deleted INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS derived (
  tenant TEXT NOT NULL, name TEXT NOT NULL, value TEXT NOT NULL, updated_at REAL NOT NULL,
  PRIMARY KEY (tenant, name));
CREATE TABLE IF NOT EXISTS ops (op_id TEXT PRIMARY KEY, tenant TEXT NOT NULL, version INTEGER,
  at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS replication_state (source TEXT PRIMARY KEY, applied_seq INTEGER);
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v INTEGER);
"""


@dataclass(frozen=True)
class Change:
    """One entry of the change feed (a local write, as shipped to the peer)."""

    seq: int
    tenant: str
    key: str
    value: str | None
    version: int
    prev_version: int
    origin_ts: float
    op_id: str | None
    deleted: bool

    def to_json(self) -> dict[str, object]:
        return {
            "seq": self.seq,
            "tenant": self.tenant,
            "key": self.key,
            "value": self.value,
            "version": self.version,
            "prev_version": self.prev_version,
            "origin_ts": self.origin_ts,
            "op_id": self.op_id,
            "deleted": self.deleted,
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Change:
        value = data["value"]
        op_id = data["op_id"]
        return cls(
            seq=int(str(data["seq"])),
            tenant=str(data["tenant"]),
            key=str(data["key"]),
            value=None if value is None else str(value),
            version=int(str(data["version"])),
            prev_version=int(str(data["prev_version"])),
            origin_ts=float(str(data["origin_ts"])),
            op_id=None if op_id is None else str(op_id),
            deleted=bool(data["deleted"]),
        )


@dataclass(frozen=True)
class WriteResult:
    version: int
    replayed: bool


@dataclass(frozen=True)
class TenantHoldings:
    """The rows one region holds of one tenant (the holdings inventory's entry)."""

    tenant: str
    entities: int
    tombstones: int
    derived: int
    feed: int
    digest: str  # over the live entities, as `digest()`: equal digests = the same data
    sample_keys: tuple[str, ...]

    @property
    def rows(self) -> int:
        return self.entities + self.tombstones + self.derived + self.feed

    def to_json(self) -> dict[str, object]:
        return {
            "tenant": self.tenant,
            "rows": self.rows,
            "entities": self.entities,
            "tombstones": self.tombstones,
            "derived": self.derived,
            "feed": self.feed,
            "digest": self.digest,
            "sample_keys": list(self.sample_keys),
        }


@dataclass(frozen=True)
class ApplyOutcome:
    tenant: str
    applied: bool
    conflict: bool
    lag_seconds: float


class RegionStore:
    """All SQLite access of one region process (single connection, event-loop thread)."""

    def __init__(
        self, path: Path, region_id: str, region_index: int, *, record_peer_op_ids: bool = True
    ) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.region_id = region_id
        self.region_index = region_index
        # a replicated change carries its op id, so a replay that lands here dedupes too
        self.record_peer_op_ids = record_peer_op_ids
        self.db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(SCHEMA)
        row = self.db.execute("SELECT v FROM meta WHERE k='lamport'").fetchone()
        self.lamport = int(row[0]) if row else 0

    def close(self) -> None:
        self.db.close()

    # data plane --------------------------------------------------------------------------
    def get(self, tenant: str, key: str) -> tuple[str | None, int] | None:
        row = self.db.execute(
            "SELECT value, version, deleted FROM entities WHERE tenant=? AND key=?", (tenant, key)
        ).fetchone()
        if row is None or row[2]:
            return None
        return row[0], int(row[1])

    def list_entities(self, tenant: str, limit: int = 100) -> list[tuple[str, str]]:
        """The tenant's live entities as (key, value), in key order, at most `limit`."""
        rows = self.db.execute(
            "SELECT key, value FROM entities WHERE tenant=? AND deleted=0 ORDER BY key LIMIT ?",
            (tenant, limit),
        ).fetchall()
        return [(str(r[0]), "" if r[1] is None else str(r[1])) for r in rows]

    def write(
        self, tenant: str, key: str, value: str | None, op_id: str | None, *, deleted: bool = False
    ) -> WriteResult:
        cur = self.db.cursor()
        cur.execute("BEGIN IMMEDIATE")
        try:
            if op_id is not None:
                seen = cur.execute("SELECT version FROM ops WHERE op_id=?", (op_id,)).fetchone()
                if seen is not None:
                    cur.execute("COMMIT")
                    return WriteResult(version=int(seen[0] or 0), replayed=True)
            row = cur.execute(
                "SELECT version FROM entities WHERE tenant=? AND key=?", (tenant, key)
            ).fetchone()
            prev = int(row[0]) if row else 0
            self.lamport = max(self.lamport, prev // 100) + 1
            version = self.lamport * 100 + self.region_index
            now = time.time()
            cur.execute(
                "INSERT INTO entities (tenant, key, value, version, origin_region, updated_at,"
                " deleted) VALUES (?,?,?,?,?,?,?) ON CONFLICT(tenant, key) DO UPDATE SET"
                " value=excluded.value, version=excluded.version,"
                " origin_region=excluded.origin_region, updated_at=excluded.updated_at,"
                " deleted=excluded.deleted",
                (tenant, key, value, version, self.region_id, now, int(deleted)),
            )
            cur.execute(
                "INSERT INTO feed (tenant, key, value, version, prev_version, origin_ts, op_id,"
                " deleted) VALUES (?,?,?,?,?,?,?,?)",
                (tenant, key, value, version, prev, now, op_id, int(deleted)),
            )
            if op_id is not None:
                cur.execute("INSERT INTO ops VALUES (?,?,?,?)", (op_id, tenant, version, now))
            cur.execute("INSERT OR REPLACE INTO meta VALUES ('lamport', ?)", (self.lamport,))
            cur.execute("COMMIT")
        except BaseException:
            cur.execute("ROLLBACK")
            raise
        return WriteResult(version=version, replayed=False)

    # replication -------------------------------------------------------------------------
    def feed_since(self, seq: int, limit: int = 1000) -> list[Change]:
        rows = self.db.execute(
            "SELECT seq, tenant, key, value, version, prev_version, origin_ts, op_id, deleted"
            " FROM feed WHERE seq > ? ORDER BY seq LIMIT ?",
            (seq, limit),
        ).fetchall()
        return [
            Change(
                int(r[0]),
                str(r[1]),
                str(r[2]),
                r[3],
                int(r[4]),
                int(r[5]),
                float(r[6]),
                r[7],
                bool(r[8]),
            )
            for r in rows
        ]

    def head_seq(self) -> int:
        row = self.db.execute("SELECT MAX(seq) FROM feed").fetchone()
        return int(row[0] or 0)

    def applied_seq(self, source: str) -> int:
        row = self.db.execute(
            "SELECT applied_seq FROM replication_state WHERE source=?", (source,)
        ).fetchone()
        return int(row[0]) if row else 0

    def apply(self, source: str, changes: list[Change], applied_seq: int) -> list[ApplyOutcome]:
        """Apply peer changes idempotently in one transaction; detect concurrent writes."""
        outcomes: list[ApplyOutcome] = []
        cur = self.db.cursor()
        cur.execute("BEGIN IMMEDIATE")
        try:
            now = time.time()
            for change in changes:
                outcomes.append(self._apply_one(cur, change, now))
            cur.execute(
                "INSERT OR REPLACE INTO replication_state VALUES (?, ?)", (source, applied_seq)
            )
            cur.execute("INSERT OR REPLACE INTO meta VALUES ('lamport', ?)", (self.lamport,))
            cur.execute("COMMIT")
        except BaseException:
            cur.execute("ROLLBACK")
            raise
        return outcomes

    def _apply_one(self, cur: sqlite3.Cursor, change: Change, now: float) -> ApplyOutcome:
        lag = max(0.0, now - change.origin_ts)
        row = cur.execute(
            "SELECT version, last_remote_version FROM entities WHERE tenant=? AND key=?",
            (change.tenant, change.key),
        ).fetchone()
        self.lamport = max(self.lamport, change.version // 100)
        if change.op_id is not None and self.record_peer_op_ids:
            cur.execute(
                "INSERT OR IGNORE INTO ops VALUES (?,?,?,?)",
                (change.op_id, change.tenant, change.version, now),
            )
        if row is not None and change.version <= int(row[1]):
            return ApplyOutcome(change.tenant, applied=False, conflict=False, lag_seconds=lag)
        local_version = int(row[0]) if row else 0
        conflict = row is not None and local_version not in (change.prev_version, change.version)
        if row is None or change.version > local_version:
            cur.execute(
                "INSERT INTO entities (tenant, key, value, version, origin_region, updated_at,"
                " deleted, last_remote_version) VALUES (?,?,?,?,?,?,?,?)"
                " ON CONFLICT(tenant, key) DO UPDATE SET value=excluded.value,"
                " version=excluded.version, origin_region=excluded.origin_region,"
                " updated_at=excluded.updated_at, deleted=excluded.deleted,"
                " last_remote_version=excluded.last_remote_version",
                (
                    change.tenant,
                    change.key,
                    change.value,
                    change.version,
                    "peer",
                    now,
                    int(change.deleted),
                    change.version,
                ),
            )
        else:
            cur.execute(
                "UPDATE entities SET last_remote_version=? WHERE tenant=? AND key=?",
                (change.version, change.tenant, change.key),
            )
        return ApplyOutcome(change.tenant, applied=True, conflict=conflict, lag_seconds=lag)

    # derived entities / autonomy ---------------------------------------------------------
    def derived(self, tenant: str) -> dict[str, str]:
        rows = self.db.execute(
            "SELECT name, value FROM derived WHERE tenant=? ORDER BY name", (tenant,)
        ).fetchall()
        return {str(r[0]): str(r[1]) for r in rows}

    def set_derived(self, tenant: str, values: dict[str, str | None]) -> None:
        """Set (or delete, value None) derived rows atomically."""
        cur = self.db.cursor()
        cur.execute("BEGIN IMMEDIATE")
        now = time.time()
        for name, value in values.items():
            if value is None:
                cur.execute("DELETE FROM derived WHERE tenant=? AND name=?", (tenant, name))
            else:
                cur.execute(
                    "INSERT OR REPLACE INTO derived VALUES (?,?,?,?)", (tenant, name, value, now)
                )
        cur.execute("COMMIT")

    def base_rows(self, tenant: str) -> list[tuple[str, str | None, int]]:
        rows = self.db.execute(
            "SELECT key, value, version FROM entities WHERE tenant=? AND deleted=0 ORDER BY key",
            (tenant,),
        ).fetchall()
        return [(str(r[0]), r[1], int(r[2])) for r in rows]

    def digest(self, tenant: str) -> str:
        """Digest over (key, value) of live base entities: equal digests = converged."""
        digest = hashlib.sha256()
        for key, value, _version in self.base_rows(tenant):
            digest.update(json.dumps([key, value]).encode())
        return digest.hexdigest()

    def holdings(self, tenant: str | None = None, sample: int = 5) -> list[TenantHoldings]:
        """What this region holds of each tenant (or of `tenant`): every table that keeps a
        tenant's data (live entities and tombstones, derived rows, change-feed entries),
        however it got here (a local write, replication, an enactment)."""
        counts: dict[str, dict[str, int]] = {}
        for table, column in (
            ("entities", "deleted=0"),
            ("entities", "deleted=1"),
            ("derived", "1"),
            ("feed", "1"),
        ):
            where = f"{column} AND tenant=?" if tenant is not None else column
            rows = self.db.execute(
                f"SELECT tenant, COUNT(*) FROM {table} WHERE {where} GROUP BY tenant",
                (tenant,) if tenant is not None else (),
            ).fetchall()
            label = {"deleted=0": "entities", "deleted=1": "tombstones"}.get(column, table)
            for name, count in rows:
                counts.setdefault(str(name), {})[label] = int(count)
        held: list[TenantHoldings] = []
        for name in sorted(counts):
            keys = self.db.execute(
                "SELECT key FROM entities WHERE tenant=? ORDER BY key LIMIT ?", (name, sample)
            ).fetchall()
            by_table = counts[name]
            held.append(
                TenantHoldings(
                    tenant=name,
                    entities=by_table.get("entities", 0),
                    tombstones=by_table.get("tombstones", 0),
                    derived=by_table.get("derived", 0),
                    feed=by_table.get("feed", 0),
                    digest=self.digest(name),
                    sample_keys=tuple(str(k[0]) for k in keys),
                )
            )
        return held

    def tenants_stored(self) -> dict[str, int]:
        rows = self.db.execute(
            "SELECT tenant, COUNT(*) FROM entities WHERE deleted=0 GROUP BY tenant"
        ).fetchall()
        return {str(r[0]): int(r[1]) for r in rows}

    def purge_tenant(self, tenant: str) -> int:
        cur = self.db.cursor()
        cur.execute("BEGIN IMMEDIATE")
        count = cur.execute("DELETE FROM entities WHERE tenant=?", (tenant,)).rowcount
        cur.execute("DELETE FROM feed WHERE tenant=?", (tenant,))
        cur.execute("DELETE FROM derived WHERE tenant=?", (tenant,))
        cur.execute("COMMIT")
        return int(count)
