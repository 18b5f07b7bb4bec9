"""``mc-verify qi show|verify``: output, overdue warning, and exit 2 with one line on bad input.

``main`` turns an McError into ``error: <message>`` and ``exc.exit_code``; here the group is
invoked on its own, so the tests check the raised error (its exit code and one-line message)
that ``main`` would print.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from pytest_mc.cli.qi import qi
from pytest_mc.errors import CatalogError, McError
from pytest_mc.policy.catalog import PUBLISHED_DIGESTS, freeze

CatalogCopy = Callable[..., Path]
DIGEST = PUBLISHED_DIGESTS["1.0.0"]


def run(*args: str) -> Result:
    return CliRunner().invoke(qi, list(args))


def refused(*args: str) -> str:
    """Run a command that must fail with a user error; return its one-line message."""
    result = run(*args)
    assert isinstance(result.exception, McError), result.output
    assert isinstance(result.exception, CatalogError)
    assert result.exception.exit_code == 2
    message = str(result.exception)
    assert "\n" not in message
    assert result.stdout == ""
    return message


def fresh_copy(
    catalog_copy: CatalogCopy,
    monkeypatch: pytest.MonkeyPatch,
    frozen_on: date,
    version: str = "1.1.0",
) -> Path:
    """A new catalog version, frozen and published (its digest added to PUBLISHED_DIGESTS)."""

    def edit(data: dict[str, object]) -> None:
        data["version"] = version
        data["frozen_on"] = frozen_on

    path = catalog_copy(edit, name=f"catalog-{version}.yaml")
    monkeypatch.setitem(PUBLISHED_DIGESTS, version, freeze(path).digest)
    return path


def test_verify_the_packaged_catalog() -> None:
    result = run("verify")
    assert result.exit_code == 0
    assert result.stdout == (
        f"QI catalog 1.0.0 FROZEN and intact: {DIGEST} (28 QIs, frozen 2025-09-25, "
        "review due 2025-12-24)\n"
    )
    overdue = (date.today() - date(2025, 12, 24)).days
    if overdue > 0:
        assert result.stderr.startswith("warning: QI catalog 1.0.0 review was due 2025-12-24, ")
        assert f", {overdue} day" in result.stderr
    else:
        assert result.stderr == ""


def test_verify_warns_on_an_overdue_review_and_still_exits_0(
    catalog_copy: CatalogCopy, monkeypatch: pytest.MonkeyPatch
) -> None:
    frozen_on = date.today() - timedelta(days=100)
    path = fresh_copy(catalog_copy, monkeypatch, frozen_on)
    result = run("verify", "--catalog", str(path))
    assert result.exit_code == 0
    assert result.stdout.startswith("QI catalog 1.1.0 FROZEN and intact: sha256:")
    due = (frozen_on + timedelta(days=90)).isoformat()
    assert result.stderr == (
        f"warning: QI catalog 1.1.0 review was due {due}, 10 days ago; "
        "review it and publish a new catalog version\n"
    )


def test_verify_is_silent_when_the_review_is_not_due(
    catalog_copy: CatalogCopy, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = fresh_copy(catalog_copy, monkeypatch, date.today())
    result = run("verify", "--catalog", str(path))
    assert result.exit_code == 0
    assert result.stderr == ""


def test_verify_names_the_edited_threshold(catalog_copy: CatalogCopy) -> None:
    def edit(data: dict[str, object]) -> None:
        qis = data["qis"]
        assert isinstance(qis, list)
        next(qi for qi in qis if qi["id"] == "tripwire_conflict_rate")["target"] = 0.002

    path = catalog_copy(edit)
    assert refused("verify", "--catalog", str(path)) == (
        f"QI catalog 1.0.0 ({path}) was changed under its frozen version: "
        "qis[tripwire_conflict_rate] differs from its frozen digest; restore it or publish a "
        "new catalog version (see docs/qi-catalog.md)"
    )


def test_show_refuses_a_tampered_catalog_too(catalog_copy: CatalogCopy) -> None:
    def edit(data: dict[str, object]) -> None:
        data["review_days"] = 365
        data["review_due"] = date(2026, 9, 25)

    message = refused("show", "--catalog", str(catalog_copy(edit)))
    assert "the catalog header (version, dates or digest map) was changed" in message


def test_verify_refuses_a_draft_of_a_new_version_that_show_accepts(
    catalog_copy: CatalogCopy,
) -> None:
    def edit(data: dict[str, object]) -> None:
        data["version"] = "1.1.0"
        data["status"] = "DRAFT"

    path = catalog_copy(edit)
    assert refused("verify", "--catalog", str(path)) == (
        f"QI catalog 1.1.0 ({path}) is DRAFT, not FROZEN: evidence judged against it is "
        "labelled draft catalog and cannot satisfy a DoD item; publish it as a new version "
        "(see docs/qi-catalog.md)"
    )
    shown = run("show", "--catalog", str(path))
    assert shown.exit_code == 0
    assert shown.stdout.startswith("QI catalog 1.1.0 DRAFT, frozen 2025-09-25")


def test_a_draft_copy_of_1_0_0_with_a_loosened_threshold_is_refused_by_show_and_verify(
    catalog_copy: CatalogCopy, capsys: pytest.CaptureFixture[str]
) -> None:
    from pytest_mc.cli.main import main

    def edit(data: dict[str, object]) -> None:
        data["status"] = "DRAFT"
        qis = data["qis"]
        assert isinstance(qis, list)
        next(qi for qi in qis if qi["id"] == "replication_lag")["target"] = 90

    path = catalog_copy(edit)
    for command in ("show", "verify"):
        assert main(["qi", command, "--catalog", str(path)]) == 2
        captured = capsys.readouterr()
        assert captured.out == ""
        assert captured.err == (
            f"error: QI catalog 1.0.0 ({path}) was changed under its frozen version: "
            "qis[replication_lag] differs from its frozen digest; restore it, or give the "
            "draft a version of its own to experiment with it (see docs/qi-catalog.md)\n"
        )


def test_a_huge_review_period_is_exit_2_with_one_line(
    catalog_copy: CatalogCopy, capsys: pytest.CaptureFixture[str]
) -> None:
    from pytest_mc.cli.main import main

    def edit(data: dict[str, object]) -> None:
        data["review_days"] = 99999999999

    path = catalog_copy(edit)
    assert main(["qi", "show", "--catalog", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1
    assert "review_days: Input should be less than or equal to 3660" in captured.err


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            "version: [1.0.0\n",
            ":2:1: malformed YAML in QI catalog: expected ',' or ']', but got '<stream end>'; "
            "fix the syntax there",
        ),
        (
            "version: 1.0.0\nstatus: FROZEN\n",
            ":1: invalid QI catalog: frozen_on: Field required (and 4 more); fix that field",
        ),
        (
            "- a\n",
            ": a QI catalog must be a YAML mapping (version, status, qis, ...), found list",
        ),
    ],
)
def test_bad_input_is_one_line(tmp_path: Path, content: str, expected: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(content, encoding="utf-8")
    for command in ("verify", "show"):
        assert refused(command, "--catalog", str(path)) == f"{path}{expected}"


def test_missing_catalog_file(tmp_path: Path) -> None:
    path = tmp_path / "missing.yaml"
    assert refused("verify", "--catalog", str(path)) == (
        f"QI catalog not found: {path}; pass --catalog PATH to an existing file, or omit it to "
        "use the packaged catalog"
    )


def test_show_lists_every_qi() -> None:
    result = run("show")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0] == "QI catalog 1.0.0 FROZEN, frozen 2025-09-25, review due 2025-12-24"
    assert lines[1] == DIGEST
    assert lines[3].split() == ["id", "kind", "rule", "window", "plan", "R/A", "DoD"]
    rows = {line.split()[0]: line for line in lines[4:]}
    assert len(rows) == 28
    assert rows["tripwire_replication_lag"].split() == [
        "tripwire_replication_lag", "tripwire", ">", "1m", "→", "bias_glb", "10m", "A.3", "SRE/MC",
    ]  # fmt: skip
    assert rows["autonomy_success_rate"].split() == [
        "autonomy_success_rate", "rate", ">=", "99.9%", "(95%", "bound)", "-", "B.2", "MC/CTO",
        "yes",
    ]  # fmt: skip
    assert ">= 8h at weight 0.2" in rows["stage_canary_20"]


def test_show_json_is_the_whole_catalog() -> None:
    result = run("show", "--json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["version"] == "1.0.0"
    assert data["digest"] == DIGEST
    assert len(data["qis"]) == len(data["qi_digests"]) == 28
    lag = next(qi for qi in data["qis"] if qi["id"] == "tripwire_replication_lag")
    assert (lag["comparator"], lag["target"], lag["window_seconds"]) == (">", 60.0, 600.0)


def test_through_mc_verify_a_tampered_catalog_exits_2_with_one_line(
    catalog_copy: CatalogCopy, capsys: pytest.CaptureFixture[str]
) -> None:
    from pytest_mc.cli.main import main

    def edit(data: dict[str, object]) -> None:
        qis = data["qis"]
        assert isinstance(qis, list)
        next(qi for qi in qis if qi["id"] == "rto")["target"] = 3600

    path = catalog_copy(edit)
    assert main(["qi", "verify", "--catalog", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        f"error: QI catalog 1.0.0 ({path}) was changed under its frozen version: qis[rto] "
        "differs from its frozen digest; restore it or publish a new catalog version "
        "(see docs/qi-catalog.md)\n"
    )
    assert main(["qi", "show", "--catalog", str(path.with_name("gone.yaml"))]) == 2
    assert capsys.readouterr().err.count("\n") == 1
    assert main(["qi", "verify"]) == 0
