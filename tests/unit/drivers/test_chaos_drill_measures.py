"""RPO and RTO of a DR drill computed from acknowledged markers (docs/dr-drills.md)."""

from __future__ import annotations

import pytest

from pytest_mc.drivers.drill import _Write, measure_rpo, served_again


def acked(seq: int, at: float, region: str = "a") -> _Write:
    return _Write(seq=seq, sent_at=at - 0.01, done_at=at, acked=True, region=region)


def failed(seq: int, at: float) -> _Write:
    return _Write(seq=seq, sent_at=at - 0.01, done_at=at, acked=False, region=None)


def test_nothing_lost_is_rpo_zero() -> None:
    writes = [acked(1, 10.0), acked(2, 10.1), acked(3, 10.2)]
    assert measure_rpo(writes, {1, 2, 3}) == (0.0, 3, None, 0)


def test_rpo_is_the_age_of_the_data_lost() -> None:
    # 3 and 5 were acknowledged by the lost region and never replicated; 4 was kept.
    writes = [acked(1, 10.0), acked(2, 10.1), acked(3, 10.2), acked(4, 10.3), acked(5, 10.45)]
    rpo, prefix, newest_missing, missing = measure_rpo(writes, {1, 2, 4})
    assert prefix == 2  # everything up to marker 2 survived
    assert newest_missing == 5
    assert missing == 2
    assert rpo == pytest.approx(10.45 - 10.1)


def test_unacknowledged_writes_are_not_data_loss() -> None:
    writes = [acked(1, 10.0), failed(2, 10.1), acked(3, 10.2)]
    assert measure_rpo(writes, {1, 3})[0] == 0.0


def test_losing_the_first_marker_counts_from_the_first_send() -> None:
    writes = [acked(1, 10.0), acked(2, 10.1)]
    rpo, prefix, newest, _ = measure_rpo(writes, {2})
    assert (prefix, newest) == (0, 1)
    assert rpo == pytest.approx(10.0 - 9.99)


def test_served_again_is_the_first_ack_after_the_last_failure() -> None:
    loss = 20.0
    writes = [
        acked(1, 19.9, "lost"),
        failed(2, 20.1),
        acked(3, 20.2, "survivor"),  # flapping: a failure follows, not yet served again
        failed(4, 20.3),
        acked(5, 20.5, "survivor"),
        acked(6, 20.6, "survivor"),
    ]
    write = served_again(writes, loss, until=30.0)
    assert write is not None
    assert write.seq == 5
    assert write.done_at - loss == pytest.approx(0.5)


def test_masked_outage_is_served_by_the_first_write_after_the_loss() -> None:
    writes = [acked(1, 19.9), acked(2, 20.05), acked(3, 20.1)]
    write = served_again(writes, 20.0, until=30.0)
    assert write is not None
    assert write.seq == 2


def test_never_served_during_the_outage_has_no_rto() -> None:
    writes = [acked(1, 19.9), failed(2, 20.1), failed(3, 20.2), acked(4, 31.0)]
    assert served_again(writes, 20.0, until=30.0) is None
