"""Approval tokens: signed, expiring, bound to tenant and simulation."""

from __future__ import annotations

import time

import pytest

from mc_staging.tokens import TokenRefused, mint, verify

KEY = b"k" * 32


def test_valid_token_verifies() -> None:
    token, approval = mint(KEY, "TENANT_001", "d" * 64, "alice", 60)
    assert verify(KEY, token, "TENANT_001", "d" * 64).token_id == approval.token_id


@pytest.mark.parametrize(
    ("tenant", "digest", "key", "reason"),
    [
        ("TENANT_002", "d" * 64, KEY, "wrong_tenant"),
        ("TENANT_001", "e" * 64, KEY, "wrong_simulation"),
        ("TENANT_001", "d" * 64, b"other-key", "forged"),
    ],
)
def test_bound_and_signed(tenant: str, digest: str, key: bytes, reason: str) -> None:
    token, _ = mint(KEY, "TENANT_001", "d" * 64, "alice", 60)
    with pytest.raises(TokenRefused) as caught:
        verify(key, token, tenant, digest)
    assert caught.value.reason == reason


def test_expired_and_malformed() -> None:
    token, _ = mint(KEY, "TENANT_001", "d" * 64, "alice", 0.01)
    time.sleep(0.02)
    with pytest.raises(TokenRefused, match="expired"):
        verify(KEY, token, "TENANT_001", "d" * 64)
    with pytest.raises(TokenRefused, match="malformed"):
        verify(KEY, "abc", "TENANT_001", "d" * 64)
