"""Fault kinds and the parameters each takes (docs/target-contract.md §5), and the one check
of a fault's parameters that the CLI (before it sends) and the admin API (before it stores)
both run, so the data plane only ever reads values of the documented types and ranges.

Plain Python (no pydantic): `mc-staging faults inject` imports it and stays quick to start.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from mc_staging.errors import BadInput, quoted


@dataclass(frozen=True)
class FaultParam:
    """One parameter a fault kind takes: a number (``integer``: whole) in [low, high], or a flag."""

    type: Literal["number", "integer", "flag"]
    low: float = 0.0
    high: float = 0.0
    unit: str = ""

    def describe(self) -> str:
        if self.type == "flag":
            return "true or false"
        whole = "a whole number" if self.type == "integer" else "a number"
        return f"{whole} from {self.low:g} to {self.high:g}{self.unit}"


_EXPIRES = FaultParam("number", 0.001, 86_400.0, " wall seconds")
# The parameters of every fault kind (docs/target-contract.md §5): the CLI and the admin API
# refuse anything else, so the data plane only ever reads values of these types and ranges.
FAULT_PARAMS: dict[str, dict[str, FaultParam]] = {
    "replication-delay": {
        "delay_seconds": FaultParam("number", 0.0, 86_400.0, " wall seconds"),
        "expires_after_seconds": _EXPIRES,
    },
    "replication-partition": {"expires_after_seconds": _EXPIRES},
    "error-rate": {"rate": FaultParam("number", 0.0, 1.0), "expires_after_seconds": _EXPIRES},
    "latency": {
        "latency_ms": FaultParam("number", 0.0, 60_000.0, " ms"),
        "expires_after_seconds": _EXPIRES,
    },
    "region-crash": {},
    "residency-regression": {
        "leak_percent": FaultParam("integer", 0, 100, " %"),
        "leak_only": FaultParam("flag"),
    },
    "conflict-storm": {
        "keys": FaultParam("integer", 1, 10_000),
        "writes_per_tick": FaultParam("integer", 0, 500),
        "expires_after_seconds": _EXPIRES,
    },
    "non-persisted-burst": {
        "queries_per_tick": FaultParam("integer", 0, 500),
        "expires_after_seconds": _EXPIRES,
    },
    "derived-drift": {"expires_after_seconds": _EXPIRES},
    "placement-drift": {"expires_after_seconds": _EXPIRES},
}


def fault_params(kind: str, params: Mapping[str, object]) -> dict[str, float | bool]:
    """``params`` checked against the table of ``kind``: numbers finite and in range, flags
    flags. A value may be a JSON number/boolean or its text (``--param k=v``, and chaos
    experiments substitute ``${...}`` into strings); a boolean is never a number."""
    if kind not in FAULT_PARAMS:
        raise BadInput(f"fault kind {quoted(kind)} unknown: use one of {', '.join(FAULT_PARAMS)}")
    accepted = FAULT_PARAMS[kind]
    checked: dict[str, float | bool] = {}
    for name, value in params.items():
        spec = accepted.get(name)
        if spec is None:
            known = ", ".join(accepted) or "none"
            raise BadInput(
                f"fault {kind!r} takes no parameter {quoted(name)} (its parameters: {known})"
            )
        checked[name] = _param_value(kind, name, spec, value)
    return checked


def _param_value(kind: str, name: str, spec: FaultParam, value: object) -> float | bool:
    text = value.strip().lower() if isinstance(value, str) else None
    refused = BadInput(
        f"fault {kind!r} parameter {name!r} must be {spec.describe()}, got {quoted(value)}"
    )
    if spec.type == "flag":
        if isinstance(value, bool):
            return value
        if text in ("true", "false"):
            return text == "true"
        raise refused
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise refused
    try:
        number = float(value)
    except (ValueError, OverflowError):
        raise refused from None
    if not math.isfinite(number) or not spec.low <= number <= spec.high:
        raise refused
    if spec.type == "integer" and not number.is_integer():
        raise refused
    return number
