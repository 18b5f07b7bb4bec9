"""HITL approval tokens: HMAC-SHA256 signed, expiring, bound to tenant and simulation digest,
single-use (the control plane records each token id once it is spent).

Format: ``mcat1.<base64url(payload json)>.<base64url(signature)>``. Expiry is WALL time:
security windows are not compressed by the rehearsal time scale.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import secrets
import time
from dataclasses import dataclass

from mc_staging.errors import BadInput, quoted

PREFIX = "mcat1"
MAX_TTL_SECONDS = 86_400.0
"""Longest approval a HITL operator can grant: a day of wall time."""


def approval_ttl(value: object) -> float:
    """A token lifetime (``--ttl-seconds``): finite, positive, at most ``MAX_TTL_SECONDS``.

    NaN, infinity and 1e300 would mint a token that never expires (or none at all)."""
    number: float | None = None
    if isinstance(value, int | float | str) and not isinstance(value, bool):
        try:
            number = float(value)
        except (ValueError, OverflowError):
            number = None
    if number is None or not math.isfinite(number) or not 0 < number <= MAX_TTL_SECONDS:
        raise BadInput(
            f"--ttl-seconds must be a number of wall seconds above 0 and at most "
            f"{MAX_TTL_SECONDS:g}, got {quoted(value)}"
        )
    return number


class TokenRefused(BadInput):
    """A bad approval token; ``reason`` is a short metric label (forged, expired, ...)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Approval:
    token_id: str
    tenant: str
    simulation_digest: str
    approver: str
    issued_at: float
    expires_at: float


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def mint(
    key: bytes, tenant: str, simulation_digest: str, approver: str, ttl: float
) -> tuple[str, Approval]:
    now = time.time()
    approval = Approval(
        token_id=secrets.token_hex(16),
        tenant=tenant,
        simulation_digest=simulation_digest,
        approver=approver,
        issued_at=now,
        expires_at=now + ttl,
    )
    payload = _b64(json.dumps(vars(approval), sort_keys=True).encode())
    signature = _b64(hmac.new(key, f"{PREFIX}.{payload}".encode(), hashlib.sha256).digest())
    return f"{PREFIX}.{payload}.{signature}", approval


def token_fingerprint(token: str) -> str:
    """A non-reversible reference to a token for audit records (never the token itself)."""
    return hashlib.sha256(token.encode()).hexdigest()[:16]


def verify(key: bytes, token: str, tenant: str, simulation_digest: str) -> Approval:
    """Check signature, expiry and binding; raise BadInput naming the first failed check."""
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != PREFIX:
        raise TokenRefused(
            "malformed", "approval token is malformed: mint one with `autonomy approve`"
        )
    expected = hmac.new(key, f"{PREFIX}.{parts[1]}".encode(), hashlib.sha256).digest()
    try:
        signature = _unb64(parts[2])
        payload = json.loads(_unb64(parts[1]))
    except ValueError as exc:
        raise TokenRefused(
            "malformed", "approval token is malformed: mint one with `autonomy approve`"
        ) from exc
    if not hmac.compare_digest(expected, signature):
        raise TokenRefused(
            "forged", "approval token signature is invalid (forged or from another staging)"
        )
    try:
        approval = Approval(**payload)
    except TypeError as exc:
        raise TokenRefused("malformed", "approval token payload is malformed") from exc
    if approval.expires_at < time.time():
        raise TokenRefused(
            "expired", f"approval token expired at {approval.expires_at:.0f}; approve again"
        )
    if approval.tenant != tenant:
        raise TokenRefused(
            "wrong_tenant", f"approval token is bound to tenant {approval.tenant!r}, not {tenant!r}"
        )
    if approval.simulation_digest != simulation_digest:
        raise TokenRefused(
            "wrong_simulation",
            "approval token is bound to another simulation (digest mismatch); "
            "approve this simulation",
        )
    return approval
