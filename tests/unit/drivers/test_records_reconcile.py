"""The suite's own account of the target's records: the enactment ledger reconciled with the
audit log, and the byte-identical prefix of a provenance log."""

from __future__ import annotations

from hashlib import sha256

import pytest

from pytest_mc.drivers.autonomy import EnactAttempt, reconcile_audit
from pytest_mc.drivers.autonomy_models import AuditLogEntry
from pytest_mc.steps.backout import first_difference

TOKEN_SHA = sha256(b"token").hexdigest()


def attempt(
    op_id: str = "op-1",
    *,
    exit_code: int = 0,
    record_outcome: str | None = "succeeded",
    enactment_id: str | None = "enact-1",
    token_sha256: str | None = TOKEN_SHA,
    token_id: str | None = "tok-1",
) -> EnactAttempt:
    return EnactAttempt(
        op_id, "TENANT_001", token_sha256, exit_code, enactment_id, token_id, record_outcome
    )


def entry(seq: int = 1, tenant: str = "TENANT_001", **details: object) -> AuditLogEntry:
    base: dict[str, object] = {
        "op_id": "op-1",
        "outcome": "succeeded",
        "enactment_id": "enact-1",
        "token_id": "tok-1",
        "token_fingerprint": TOKEN_SHA[:16],
    }
    base.update(details)
    return AuditLogEntry(
        seq=seq, action="autonomy.enact", tenant=tenant, details=base, hash=f"h{seq}"
    )


@pytest.mark.parametrize(
    ("exit_code", "record_outcome", "expected"),
    [
        (0, "succeeded", "succeeded"),
        (1, "aborted", "aborted"),
        (1, None, "refused"),
        (2, None, "refused"),
        (0, None, "succeeded"),
    ],
)
def test_the_outcome_an_audit_record_must_state(
    exit_code: int, record_outcome: str | None, expected: str
) -> None:
    assert attempt(exit_code=exit_code, record_outcome=record_outcome).outcome == expected


def test_one_matching_record_per_attempt_reconciles() -> None:
    refused = attempt("op-2", exit_code=2, record_outcome=None, enactment_id=None, token_id=None)
    log = [
        entry(1),
        entry(2, op_id="op-2", outcome="refused", enactment_id=None, token_id=None),
        AuditLogEntry(seq=3, action="glb.bias", tenant="TENANT_001", details={}, hash="h3"),
    ]
    assert reconcile_audit([attempt(), refused], log) == []


def test_a_missing_record_names_the_enactment() -> None:
    aborted = attempt(exit_code=1, record_outcome="aborted")
    [problem] = reconcile_audit([aborted], [])
    assert problem == (
        "enactment op op-1 on TENANT_001 (aborted, enact-1): 0 audit records, expected exactly 1"
    )


def test_a_duplicated_record_is_found_by_op_id_or_enactment_id() -> None:
    log = [entry(1), entry(2, op_id="someone-else")]
    [problem] = reconcile_audit([attempt()], log)
    assert "2 audit records (seq 1, 2), expected exactly 1" in problem


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"outcome": "aborted"}, "outcome 'aborted', expected 'succeeded'"),
        ({"enactment_id": "enact-9", "op_id": "op-1"}, "enactment_id 'enact-9'"),
        ({"token_id": "tok-9"}, "token_id 'tok-9', expected 'tok-1'"),
        ({"token_fingerprint": "0000"}, "token_fingerprint '0000', expected a prefix"),
        ({"token_fingerprint": None}, "token_fingerprint None"),
    ],
)
def test_a_mismatched_record_says_what_was_expected(change: dict[str, object], named: str) -> None:
    [problem] = reconcile_audit([attempt()], [entry(7, **change)])
    assert problem.startswith(
        "enactment op op-1 on TENANT_001 (succeeded, enact-1): audit record seq 7 has "
    )
    assert named in problem


def test_a_record_for_another_tenant_or_with_a_token_where_none_was_given_fails() -> None:
    [problem] = reconcile_audit([attempt()], [entry(1, tenant="TENANT_002")])
    assert "tenant 'TENANT_002', expected 'TENANT_001'" in problem
    no_token = attempt(
        exit_code=2, record_outcome=None, enactment_id=None, token_sha256=None, token_id=None
    )
    log = [entry(1, outcome="refused", enactment_id=None)]
    [problem] = reconcile_audit([no_token], log)
    assert "expected none (no token given)" in problem


def test_a_provenance_prefix_is_byte_identical_or_names_the_first_difference() -> None:
    before = [b'{"seq":1}', b'{"seq":2}']
    assert first_difference(before, [*before, b'{"seq":3}']) is None
    assert first_difference(before, [b'{"seq":1}', b'{"seq":2,"x":1}']) == 1
    assert first_difference(before, [b'{"seq":1}']) == 1
    assert first_difference([], []) is None
