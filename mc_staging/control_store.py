"""The control plane's persistent state (SQLite WAL): tenants, provenance, pages, tripwire
events, faults, idempotent operations and autonomy records.

The provenance log is append-only and hash-chained (each record carries the previous record's
sha256); nothing here ever stores a secret — callers pass already-redacted parameters.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from pathlib import Path

from mc_staging.model import Fault
from mc_staging.seed import TenantRecord, seed_tenants

SCHEMA = """
CREATE TABLE IF NOT EXISTS tenants (id TEXT PRIMARY KEY, record TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS provenance (seq INTEGER PRIMARY KEY AUTOINCREMENT, at REAL,
  actor TEXT, action TEXT, tenant TEXT, details TEXT, prev_hash TEXT, hash TEXT);
CREATE TABLE IF NOT EXISTS pages (id INTEGER PRIMARY KEY AUTOINCREMENT, at REAL, tenant TEXT,
  severity TEXT, reason TEXT, details TEXT);
CREATE TABLE IF NOT EXISTS tripwire_events (id INTEGER PRIMARY KEY AUTOINCREMENT, record TEXT);
CREATE TABLE IF NOT EXISTS faults (id TEXT PRIMARY KEY, record TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS ops (op_id TEXT PRIMARY KEY, result TEXT NOT NULL, at REAL);
CREATE TABLE IF NOT EXISTS documents (kind TEXT, id TEXT, record TEXT, PRIMARY KEY (kind, id));
"""

GENESIS = "0" * 64


class ControlStore:
    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(SCHEMA)
        self._tenants: dict[str, TenantRecord] | None = None
        if self.db.execute("SELECT COUNT(*) FROM tenants").fetchone()[0] == 0:
            for tenant in seed_tenants(time.time()):
                self.save_tenant(tenant)

    # tenants -----------------------------------------------------------------------------
    def tenants(self) -> dict[str, TenantRecord]:
        """Copies of the tenant records (callers mutate, then `save_tenant`)."""
        if self._tenants is None:
            rows = self.db.execute("SELECT record FROM tenants ORDER BY id").fetchall()
            records = [TenantRecord.model_validate_json(r[0]) for r in rows]
            self._tenants = {t.id: t for t in records}
        return {k: v.model_copy(deep=True) for k, v in self._tenants.items()}

    def save_tenant(self, tenant: TenantRecord) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO tenants VALUES (?, ?)", (tenant.id, tenant.model_dump_json())
        )
        self._tenants = None

    # provenance --------------------------------------------------------------------------
    def append_provenance(
        self, actor: str, action: str, tenant: str | None, details: dict[str, object]
    ) -> dict[str, object]:
        row = self.db.execute("SELECT hash FROM provenance ORDER BY seq DESC LIMIT 1").fetchone()
        prev_hash = str(row[0]) if row else GENESIS
        at = time.time()
        body = json.dumps(
            {
                "at": at,
                "actor": actor,
                "action": action,
                "tenant": tenant,
                "details": details,
                "prev_hash": prev_hash,
            },
            sort_keys=True,
        )
        digest = hashlib.sha256(body.encode()).hexdigest()
        cursor = self.db.execute(
            "INSERT INTO provenance (at, actor, action, tenant, details, prev_hash, hash)"
            " VALUES (?,?,?,?,?,?,?)",
            (at, actor, action, tenant, json.dumps(details, sort_keys=True), prev_hash, digest),
        )
        return {
            "seq": cursor.lastrowid,
            "at": at,
            "actor": actor,
            "action": action,
            "tenant": tenant,
            "details": details,
            "prev_hash": prev_hash,
            "hash": digest,
        }

    def provenance(self, tenant: str | None = None, limit: int = 1000) -> list[dict[str, object]]:
        rows = self.db.execute(
            "SELECT seq, at, actor, action, tenant, details, prev_hash, hash FROM provenance"
            " WHERE (? IS NULL OR tenant = ?) ORDER BY seq DESC LIMIT ?",
            (tenant, tenant, limit),
        ).fetchall()
        return [
            {
                "seq": r[0],
                "at": r[1],
                "actor": r[2],
                "action": r[3],
                "tenant": r[4],
                "details": json.loads(r[5]),
                "prev_hash": r[6],
                "hash": r[7],
            }
            for r in reversed(rows)
        ]

    def rewrite_provenance(self, seq: int, details: dict[str, object]) -> None:
        """Replace record `seq`'s details and re-hash every record from it on. Only the
        `provenance-rewritten` defect calls this: the log is append-only."""
        row = self.db.execute(
            "SELECT hash FROM provenance WHERE seq < ? ORDER BY seq DESC LIMIT 1", (seq,)
        ).fetchone()
        prev = str(row[0]) if row else GENESIS
        rows = self.db.execute(
            "SELECT seq, at, actor, action, tenant, details FROM provenance WHERE seq >= ?"
            " ORDER BY seq",
            (seq,),
        ).fetchall()
        for number, at, actor, action, tenant, stored in rows:
            body = json.loads(stored) if number != seq else details
            digest = hashlib.sha256(
                json.dumps(
                    {
                        "at": at,
                        "actor": actor,
                        "action": action,
                        "tenant": tenant,
                        "details": body,
                        "prev_hash": prev,
                    },
                    sort_keys=True,
                ).encode()
            ).hexdigest()
            self.db.execute(
                "UPDATE provenance SET details=?, prev_hash=?, hash=? WHERE seq=?",
                (json.dumps(body, sort_keys=True), prev, digest, number),
            )
            prev = digest

    def verify_provenance(self) -> tuple[bool, int | None]:
        """Recompute the chain; (ok, first broken seq)."""
        prev = GENESIS
        for seq, at, actor, action, tenant, details, prev_hash, digest in self.db.execute(
            "SELECT seq, at, actor, action, tenant, details, prev_hash, hash FROM provenance"
            " ORDER BY seq"
        ):
            body = json.dumps(
                {
                    "at": at,
                    "actor": actor,
                    "action": action,
                    "tenant": tenant,
                    "details": json.loads(details),
                    "prev_hash": prev_hash,
                },
                sort_keys=True,
            )
            if prev_hash != prev or hashlib.sha256(body.encode()).hexdigest() != digest:
                return False, int(seq)
            prev = str(digest)
        return True, None

    # pages / tripwire events -------------------------------------------------------------
    def page(self, tenant: str, severity: str, reason: str, details: dict[str, object]) -> int:
        cursor = self.db.execute(
            "INSERT INTO pages (at, tenant, severity, reason, details) VALUES (?,?,?,?,?)",
            (time.time(), tenant, severity, reason, json.dumps(details, sort_keys=True)),
        )
        return int(cursor.lastrowid or 0)

    def pages(self, tenant: str | None = None) -> list[dict[str, object]]:
        rows = self.db.execute(
            "SELECT id, at, tenant, severity, reason, details FROM pages"
            " WHERE (? IS NULL OR tenant = ?) ORDER BY id",
            (tenant, tenant),
        ).fetchall()
        return [
            {
                "id": r[0],
                "at": r[1],
                "tenant": r[2],
                "severity": r[3],
                "reason": r[4],
                "recipient": "dpo",
                "details": json.loads(r[5]),
            }
            for r in rows
        ]

    def add_tripwire_event(self, record: dict[str, object]) -> None:
        self.db.execute(
            "INSERT INTO tripwire_events (record) VALUES (?)", (json.dumps(record, sort_keys=True),)
        )

    def tripwire_events(self, tenant: str | None = None) -> list[dict[str, object]]:
        rows = self.db.execute("SELECT record FROM tripwire_events ORDER BY id").fetchall()
        events = [json.loads(r[0]) for r in rows]
        return [e for e in events if tenant is None or e.get("tenant") == tenant]

    # faults ------------------------------------------------------------------------------
    def faults(self) -> list[Fault]:
        rows = self.db.execute("SELECT record FROM faults ORDER BY id").fetchall()
        return [Fault.model_validate_json(r[0]) for r in rows]

    def add_fault(self, fault: Fault) -> None:
        self.db.execute("INSERT INTO faults VALUES (?, ?)", (fault.id, fault.model_dump_json()))

    def remove_fault(self, fault_id: str) -> None:
        self.db.execute("DELETE FROM faults WHERE id=?", (fault_id,))

    # idempotent control operations -------------------------------------------------------
    def op_result(self, op_id: str) -> dict[str, object] | None:
        row = self.db.execute("SELECT result FROM ops WHERE op_id=?", (op_id,)).fetchone()
        return json.loads(row[0]) if row else None

    def save_op(self, op_id: str, result: dict[str, object]) -> None:
        self.db.execute(
            "INSERT OR IGNORE INTO ops VALUES (?,?,?)",
            (op_id, json.dumps(result, sort_keys=True), time.time()),
        )

    # documents (simulations, enactments, used tokens, DR records) -------------------------
    def put_document(self, kind: str, doc_id: str, record: dict[str, object]) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO documents VALUES (?,?,?)",
            (kind, doc_id, json.dumps(record, sort_keys=True)),
        )

    def insert_document(self, kind: str, doc_id: str, record: dict[str, object]) -> bool:
        """Insert once; False if (kind, id) already exists (used for single-use tokens)."""
        cursor = self.db.execute(
            "INSERT OR IGNORE INTO documents VALUES (?,?,?)",
            (kind, doc_id, json.dumps(record, sort_keys=True)),
        )
        return cursor.rowcount == 1

    def document(self, kind: str, doc_id: str) -> dict[str, object] | None:
        row = self.db.execute(
            "SELECT record FROM documents WHERE kind=? AND id=?", (kind, doc_id)
        ).fetchone()
        return json.loads(row[0]) if row else None

    def documents(self, kind: str) -> list[dict[str, object]]:
        rows = self.db.execute(
            "SELECT record FROM documents WHERE kind=? ORDER BY rowid", (kind,)
        ).fetchall()
        return [json.loads(r[0]) for r in rows]
