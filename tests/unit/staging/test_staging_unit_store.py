"""RegionStore: idempotent apply, conflict detection and convergence by Lamport order."""

from __future__ import annotations

from pathlib import Path

from mc_staging.store import RegionStore


def _pair(tmp_path: Path) -> tuple[RegionStore, RegionStore]:
    return (
        RegionStore(tmp_path / "a.db", "eu-west", 0),
        RegionStore(tmp_path / "b.db", "eu-central", 1),
    )


def _sync(source: RegionStore, target: RegionStore) -> list[bool]:
    changes = source.feed_since(target.applied_seq(source.region_id))
    outcomes = target.apply(source.region_id, changes, source.head_seq())
    return [o.conflict for o in outcomes if o.applied]


def test_sequential_writes_fast_forward_without_conflict(tmp_path: Path) -> None:
    a, b = _pair(tmp_path)
    a.write("T", "k", "1", None)
    assert _sync(a, b) == [False]
    b.write("T", "k", "2", None)
    assert _sync(b, a) == [False]
    assert a.get("T", "k") == b.get("T", "k")
    assert a.get("T", "k")[0] == "2"
    assert a.digest("T") == b.digest("T")


def test_concurrent_writes_are_conflicts_and_converge(tmp_path: Path) -> None:
    a, b = _pair(tmp_path)
    a.write("T", "k", "from-a", None)
    b.write("T", "k", "from-b", None)
    assert _sync(a, b) == [True]
    assert _sync(b, a) == [True]
    assert a.get("T", "k") == b.get("T", "k")
    # equal Lamport counters: the higher region index wins on both sides
    assert a.get("T", "k")[0] == "from-b"  # type: ignore[index]


def test_apply_is_idempotent(tmp_path: Path) -> None:
    a, b = _pair(tmp_path)
    a.write("T", "k", "1", "op-1")
    changes = a.feed_since(0)
    b.apply("eu-west", changes, a.head_seq())
    again = b.apply("eu-west", changes, a.head_seq())
    assert [o.applied for o in again] == [False]
    assert b.write("T", "k", "1", "op-1").replayed  # op ids replicate with the change


def test_op_id_makes_a_write_idempotent(tmp_path: Path) -> None:
    a, _ = _pair(tmp_path)
    first = a.write("T", "k", "v", "op-9")
    second = a.write("T", "k", "other", "op-9")
    assert second.replayed
    assert second.version == first.version
    assert a.get("T", "k")[0] == "v"  # type: ignore[index]
    assert len(a.feed_since(0)) == 1


def test_store_survives_reopen(tmp_path: Path) -> None:
    a, b = _pair(tmp_path)
    a.write("T", "k", "1", None)
    _sync(a, b)
    b.close()
    reopened = RegionStore(tmp_path / "b.db", "eu-central", 1)
    assert reopened.applied_seq("eu-west") == 1
    assert reopened.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_replay_landing_on_the_region_that_only_replicated_the_write_dedupes(
    tmp_path: Path,
) -> None:
    a, b = _pair(tmp_path)
    first = a.write("T", "k", "v", "op-1")
    _sync(a, b)
    again = b.write("T", "k", "replayed", "op-1")
    assert again.replayed
    assert b.get("T", "k") == ("v", first.version)


def test_without_replicated_op_ids_the_replay_applies_again(tmp_path: Path) -> None:
    """The `replay-path-applies-twice` defect: what the replay-path scenario must catch."""
    a = RegionStore(tmp_path / "a.db", "eu-west", 0)
    b = RegionStore(tmp_path / "b.db", "eu-central", 1, record_peer_op_ids=False)
    a.write("T", "k", "v", "op-1")
    _sync(a, b)
    again = b.write("T", "k", "replayed", "op-1")
    assert not again.replayed
    assert b.get("T", "k")[0] == "replayed"


def test_holdings_count_every_table_that_keeps_a_tenants_data(tmp_path: Path) -> None:
    a, b = _pair(tmp_path)
    a.write("T", "k1", "1", None)
    a.write("T", "k2", "2", None)
    a.write("T", "k2", None, None, deleted=True)
    a.set_derived("T", {"count:x": "1"})
    a.write("U", "u1", "1", None)
    [t, u] = a.holdings()
    assert (t.tenant, t.entities, t.tombstones, t.derived, t.feed) == ("T", 1, 1, 1, 3)
    assert t.rows == 6
    assert t.digest == a.digest("T")
    assert t.sample_keys == ("k1", "k2")
    assert (u.tenant, u.rows) == ("U", 2)
    assert [held.tenant for held in a.holdings("U")] == ["U"]
    # a replicated copy is held too: entities only (the feed keeps local writes)
    _sync(a, b)
    [copy] = b.holdings("T")
    assert (copy.entities, copy.tombstones, copy.feed, copy.digest) == (1, 1, 0, a.digest("T"))
    assert b.holdings("nobody") == []
