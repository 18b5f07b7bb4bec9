"""Secrets are redacted at the recording boundary: a registered secret and credential-shaped
text (`token=...`, bearer tokens, `--admin-token X`) never reach the chain file, the bundle,
the signature envelope or an artifact (content or file name)."""

from __future__ import annotations

from pathlib import Path

import pytest
from evidence_helpers import RecordRun, RunCli

from pytest_mc.evidence.recorder import EvidenceRecorder
from pytest_mc.evidence.records import EnactmentAudit, ScenarioFinished
from pytest_mc.evidence.redaction import REDACTED, Redactor

SECRET = "s3cr3t-admin-Val"
PATTERN_TOKEN = "abcdef0123456789"


def leak_everywhere(recorder: EvidenceRecorder) -> None:
    """Record the secrets through every door: record strings, dict keys, artifacts."""
    recorder.redactor.register("approval-XYZ-123456")
    recorder.record(
        EnactmentAudit(
            tenant="TENANT_004",
            enactment_id="e-1",
            op_set="scale",
            tier="3",
            scope="eu-west",
            simulation_digest="sha256:00",
            outcome="enacted",
            changes=1,
            detail=f"enacted with --approval-token approval-XYZ-123456 by admin {SECRET}",
        )
    )
    recorder.record(
        ScenarioFinished(
            nodeid="features/x.py::leaky",
            tenant="TENANT_004",
            outcome="failed",
            duration_seconds=0.1,
            message=f"GET /admin?token={PATTERN_TOKEN} -> 500; Authorization: Bearer {SECRET}x",
        )
    )
    recorder.attach(
        f"curl -H 'X-Admin: {SECRET}' 'http://h/x?token={PATTERN_TOKEN}'\n".encode(),
        name="curl-log.txt",
        kind="log",
        tenant="TENANT_004",
    )
    recorder.attach(b"payload", name=f"dump-{SECRET}.txt", kind="log", tenant="TENANT_004")


def every_evidence_file(root: Path) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file()]


def test_secrets_never_reach_chain_bundle_signature_or_artifacts(
    record_run: RecordRun, run_cli: RunCli
) -> None:
    run = record_run("TENANT_004", secrets=(SECRET,), extra=leak_everywhere)

    files = every_evidence_file(run.paths.out_dir)
    assert {run.chain, run.bundle, run.envelope} <= set(files)
    assert len([p for p in files if p.parent == run.paths.artifacts]) == 3
    for path in files:
        content = path.read_bytes()
        for secret in (SECRET, PATTERN_TOKEN, "approval-XYZ-123456"):
            assert secret.encode() not in content, f"{secret!r} leaked into {path}"
            assert secret not in str(path.relative_to(run.paths.out_dir)), path
    assert REDACTED.encode() in run.chain.read_bytes()
    assert REDACTED.encode() in run.bundle.read_bytes()
    verified = run_cli("evidence", "verify", run.bundle, "--public-key", run.public_key)
    assert verified.code == 0, verified.err


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("token=abcdef0123", "token=[REDACTED]"),
        ('{"admin_token": "abcdef0123"}', '{"admin_token": "[REDACTED]"}'),
        ("Authorization: Bearer eyJhbGciOi.x", "Authorization: Bearer [REDACTED]"),
        (
            "mc enact --approval-token tok-9 --dry-run",
            "mc enact --approval-token [REDACTED] --dry-run",
        ),
        ("password: hunter22", "password: [REDACTED]"),
        ("token=short", "token=short"),
        ("the tokenizer ran", "the tokenizer ran"),
    ],
)
def test_credential_shaped_text_is_redacted(text: str, expected: str) -> None:
    assert Redactor().text(text) == expected


def test_a_secret_containing_another_is_removed_whole() -> None:
    redactor = Redactor(("abcdef", "abcdefghij"))

    assert redactor.text("x abcdefghij y abcdef") == f"x {REDACTED} y {REDACTED}"


def test_too_short_secrets_are_not_registered_to_keep_ordinary_text() -> None:
    redactor = Redactor(("eu", "  "))

    assert redactor.text("eu-west") == "eu-west"


def test_binary_artifacts_are_kept_as_they_are() -> None:
    data = b"\xff\xfe" + SECRET.encode()

    assert Redactor((SECRET,)).data(data) == data


def test_a_secret_with_spaces_is_removed_whole_even_when_it_contains_a_token_secret() -> None:
    redactor = Redactor(("tok-0123456789", "pass phrase tok-0123456789 end"))

    assert redactor.text("a pass phrase tok-0123456789 end b tok-0123456789") == (
        f"a {REDACTED} b {REDACTED}"
    )


def test_thousands_of_tokens_are_each_removed_wherever_they_stand() -> None:
    tokens = [f"mcat.{n:05d}.{'ab' * (n % 7 + 10)}" for n in range(3000)]
    redactor = Redactor()
    for token in tokens:
        redactor.register(token)
    picked = tokens[::299]
    text = " | ".join(
        f"{prefix}{token}{suffix}"
        for token, prefix, suffix in zip(
            picked,
            ["", "token ", "x:", "--t=", "'"] * 3,
            ["", ",", "]", "'", "\n"] * 3,
            strict=False,
        )
    )

    redacted = redactor.text(text)

    for token in picked:
        assert token not in redacted
    assert redacted.count(REDACTED) == len(picked)
    assert redactor.text("mcat.99999.abab and eu-west") == "mcat.99999.abab and eu-west"


def test_a_secret_inside_a_longer_run_of_token_characters_is_still_removed() -> None:
    redactor = Redactor(("0123456789abcdef",))

    assert redactor.text("sha=ff0123456789abcdefff.") == f"sha=ff{REDACTED}ff."
