"""Fault generator ticks fall on the wall clock's multiples of the tick in every region, so
two regions of a conflict storm write the same keys at the same moments whenever their
processes started."""

from __future__ import annotations

import pytest

from mc_staging.region_app import FAULT_TICK_SECONDS, next_fault_slot


@pytest.mark.parametrize("started", [1000.0, 1000.013, 1000.026, 1000.049])
def test_regions_started_at_any_phase_tick_on_the_same_instants(started: float) -> None:
    slot = next_fault_slot(0, started)
    assert slot * FAULT_TICK_SECONDS == pytest.approx(1000.05)
    # woken exactly on time, each tick is the next multiple
    assert next_fault_slot(slot, slot * FAULT_TICK_SECONDS) == slot + 1


def test_a_wake_up_a_little_early_does_not_tick_the_same_slot_twice() -> None:
    slot = next_fault_slot(0, 1000.01)
    assert next_fault_slot(slot, slot * FAULT_TICK_SECONDS - 0.001) == slot + 1


def test_a_late_wake_up_skips_to_the_next_multiple_instead_of_bursting() -> None:
    slot = next_fault_slot(0, 1000.01)
    late = slot * FAULT_TICK_SECONDS + 3.5 * FAULT_TICK_SECONDS
    assert next_fault_slot(slot, late) == slot + 4
