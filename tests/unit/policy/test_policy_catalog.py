"""The QI catalog: its content, the frozen digest, and one-line errors for every bad input."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from pytest_mc.errors import BundleError, CatalogError, InputError, UnknownQiError
from pytest_mc.policy.catalog import (
    DEFAULT_CATALOG_PATH,
    PUBLISHED_DIGESTS,
    CatalogReference,
    QiCatalog,
    QiDefinition,
    canonical_digest,
    catalog_digest,
    catalog_reference,
    check_reference,
    draft_label,
    dump_catalog,
    freeze,
    is_published,
    load_catalog,
    main,
    qi_digest,
    review_warning,
)

CatalogCopy = Callable[..., Path]
Edit = Callable[[dict[str, object]], None]

HOW_TO = "restore it or publish a new catalog version (see docs/qi-catalog.md)"


def qi_index(data: dict[str, object], qi_id: str) -> int:
    qis = data["qis"]
    assert isinstance(qis, list)
    return next(index for index, qi in enumerate(qis) if qi["id"] == qi_id)


def set_field(qi_id: str, field: str, value: object) -> Edit:
    def edit(data: dict[str, object]) -> None:
        qis = data["qis"]
        assert isinstance(qis, list)
        qis[qi_index(data, qi_id)][field] = value

    return edit


def catalog_error(path: Path) -> str:
    with pytest.raises(CatalogError) as excinfo:
        load_catalog(path)
    message = str(excinfo.value)
    assert "\n" not in message
    assert excinfo.value.exit_code == 2
    return message


# --------------------------------------------------------------------------- content


def test_packaged_catalog_is_frozen_v1_with_intact_digests() -> None:
    catalog = load_catalog()
    assert (catalog.version, catalog.status) == ("1.0.0", "FROZEN")
    assert catalog.frozen_on == date(2025, 9, 25)
    assert catalog.review_due == date(2025, 12, 24)
    assert catalog.digest == catalog_digest(catalog) == PUBLISHED_DIGESTS["1.0.0"]
    assert catalog.qi_digests == {qi.id: qi_digest(qi) for qi in catalog.qis}


EXPECTED_RULES = {
    "persisted_only_compliance": ("rate", ">=", 0.999, "fraction", None, "A.1"),
    "replication_lag": ("threshold", "<=", 60, "seconds", None, "A.2"),
    "conflict_rate": ("rate", "<=", 0.0005, "fraction", None, "A.2"),
    "rpo": ("threshold", "<=", 300, "seconds", None, "A.2"),
    "rto": ("threshold", "<=", 1800, "seconds", None, "A.2"),
    "privacy_violations": ("count", "==", 0, "count", None, "A.2"),
    "budget_utilization": ("threshold", "<=", 0.8, "fraction", None, "A.2"),
    "stage_bake": ("stage", ">=", 86400, "seconds", 86400, "A.2"),
    "stage_canary_20": ("stage", ">=", 28800, "seconds", 28800, "A.2"),
    "stage_canary_50": ("stage", ">=", 28800, "seconds", 28800, "A.2"),
    "stage_ga_soak": ("stage", ">=", 86400, "seconds", 86400, "A.2"),
    "tripwire_error_budget": ("tripwire", "<", 0.6, "fraction", None, "A.3"),
    "tripwire_replication_lag": ("tripwire", ">", 60, "seconds", 600, "A.3"),
    "tripwire_conflict_rate": ("tripwire", ">", 0.001, "fraction", None, "A.3"),
    "tripwire_non_persisted": ("tripwire", ">", 0.001, "fraction", None, "A.3"),
    "tripwire_residency": ("tripwire", ">", 0, "count", None, "A.3"),
    "autonomy_success_rate": ("rate", ">=", 0.999, "fraction", None, "B.2"),
    "compensation_rate": ("rate", "<=", 0.005, "fraction", None, "B.2"),
    "sim_false_negative_rate": ("rate", "<=", 0.001, "fraction", None, "B.2"),
    "slo_regression": ("count", "==", 0, "count", None, "B.2"),
    "cost_within_budget": ("threshold", "<=", 1.0, "ratio", None, "B.2"),
    "privacy_incidents": ("count", "==", 0, "count", None, "B.2"),
    "p1_incidents": ("count", "==", 0, "count", None, "DoD"),
    "tripwire_burn_fast": ("tripwire", ">=", 0.02, "fraction", 3600, "B.4"),
    "tripwire_burn_slow": ("tripwire", ">=", 0.1, "fraction", 21600, "B.4"),
    "tripwire_risk_anomaly": ("tripwire", ">", 0, "count", None, "B.4"),
    "tripwire_residency_denial": ("tripwire", ">", 0, "count", None, "B.4"),
    "expansion_green_streak": ("streak", ">=", 14, "days", 1_209_600, "DoD"),
}


def test_every_number_of_the_plan_is_in_the_catalog() -> None:
    catalog = load_catalog()
    assert set(catalog.ids) == set(EXPECTED_RULES)
    for qi in catalog.qis:
        expected = EXPECTED_RULES[qi.id]
        actual = (qi.kind, qi.comparator, qi.target, qi.unit, qi.window_seconds, qi.plan_section)
        assert actual == expected, qi.id


def test_tripwire_actions_weights_and_owners_follow_the_plan() -> None:
    catalog = load_catalog()
    actions = {qi.id: qi.action for qi in catalog.qis if qi.kind == "tripwire"}
    assert actions == {
        "tripwire_error_budget": "pause_rollout",
        "tripwire_replication_lag": "bias_glb",
        "tripwire_conflict_rate": "rollback_to_ap",
        "tripwire_non_persisted": "rollback_to_ap",
        "tripwire_residency": "rollback_and_page_dpo",
        "tripwire_burn_fast": "halt_autonomy_read_only",
        "tripwire_burn_slow": "halt_autonomy_read_only",
        "tripwire_risk_anomaly": "abort_enactment",
        "tripwire_residency_denial": "abort_enactment",
    }
    weights = {qi.id: qi.weight for qi in catalog.qis if qi.weight is not None}
    assert weights == {"stage_canary_20": 0.2, "stage_canary_50": 0.5, "stage_ga_soak": 1.0}
    raci = {("SRE", "MC"), ("MC", "CTO"), ("DPO", "MC"), ("DevEx", "MC")}
    for qi in catalog.qis:
        assert (qi.owner, qi.accountable) in raci, qi.id
        if qi.plan_section in ("A.1", "A.2", "A.3") and qi.category != "privacy":
            assert (qi.owner, qi.accountable) == ("SRE", "MC"), qi.id
        if qi.plan_section == "B.4":
            assert (qi.owner, qi.accountable) == ("MC", "CTO"), qi.id
    rates = [qi for qi in catalog.qis if qi.kind == "rate"]
    assert {qi.confidence for qi in rates} == {0.95}


def test_notes_spell_out_the_subtleties() -> None:
    catalog = load_catalog()
    conflict = catalog.get("conflict_rate").notes or ""
    assert "between 0.05% and 0.1% FAILS this gate but fires NO tripwire" in conflict
    assert "Clopper-Pearson" in conflict
    assert "CONSUMED" in (catalog.get("budget_utilization").notes or "")
    assert "REMAINING" in (catalog.get("tripwire_error_budget").notes or "")
    slow = catalog.get("tripwire_burn_slow").notes or ""
    assert "SRE-workbook slow tier of 5%/6h" in slow
    assert "implemented exactly as the plan writes it" in slow
    assert "one-sided 95% exact" in (catalog.get("persisted_only_compliance").notes or "")


def test_dod_items_are_marked() -> None:
    dod = {qi.id for qi in load_catalog().qis if qi.dod}
    assert dod == {
        "autonomy_success_rate",
        "compensation_rate",
        "sim_false_negative_rate",
        "slo_regression",
        "cost_within_budget",
        "privacy_incidents",
        "p1_incidents",
        "expansion_green_streak",
    }


# --------------------------------------------------------------------------- digests


def test_canonical_digest_is_stable_for_floats() -> None:
    assert canonical_digest({"target": 0.999}) == canonical_digest({"target": 0.9990})
    assert canonical_digest({"target": 60.0}) == canonical_digest({"target": 60})
    assert canonical_digest({"b": 1, "a": 2}) == canonical_digest({"a": 2, "b": 1})
    assert canonical_digest({"target": 0.999}) != canonical_digest({"target": 0.9991})
    assert canonical_digest({"a": 0.999}).startswith("sha256:")
    assert len(canonical_digest({"a": 0.999})) == len("sha256:") + 64


def test_spelling_a_number_differently_keeps_the_digest(catalog_copy: CatalogCopy) -> None:
    path = catalog_copy(set_field("replication_lag", "target", 60))
    text = path.read_text(encoding="utf-8")
    assert "target: 60\n" in text
    assert load_catalog(path).digest == PUBLISHED_DIGESTS["1.0.0"]


def test_editing_one_threshold_names_that_qi(catalog_copy: CatalogCopy) -> None:
    path = catalog_copy(set_field("replication_lag", "target", 90))
    assert catalog_error(path) == (
        f"QI catalog 1.0.0 ({path}) was changed under its frozen version: "
        f"qis[replication_lag] differs from its frozen digest; {HOW_TO}"
    )


def test_editing_two_qis_names_both(catalog_copy: CatalogCopy) -> None:
    def edit(data: dict[str, object]) -> None:
        set_field("conflict_rate", "target", 0.001)(data)
        set_field("rto", "notes", "relaxed")(data)

    path = catalog_copy(edit)
    assert catalog_error(path) == (
        f"QI catalog 1.0.0 ({path}) was changed under its frozen version: "
        f"qis[conflict_rate], qis[rto] differ from their frozen digests; {HOW_TO}"
    )


def test_removing_or_adding_a_qi_is_named(catalog_copy: CatalogCopy) -> None:
    def remove(data: dict[str, object]) -> None:
        qis = data["qis"]
        assert isinstance(qis, list)
        del qis[qi_index(data, "rpo")]

    assert "qis[rpo] (removed) differs from its frozen digest" in catalog_error(
        catalog_copy(remove, name="removed.yaml")
    )

    def add(data: dict[str, object]) -> None:
        qis = data["qis"]
        assert isinstance(qis, list)
        qis.append(dict(qis[qi_index(data, "rpo")], id="rpo_strict", target=60))

    assert "qis[rpo_strict] (added) differs from its frozen digest" in catalog_error(
        catalog_copy(add, name="added.yaml")
    )


def test_editing_the_header_or_the_digest_map_says_header(catalog_copy: CatalogCopy) -> None:
    def postpone_review(data: dict[str, object]) -> None:
        data["review_days"] = 365
        data["review_due"] = date(2026, 9, 25)

    expected = "the catalog header (version, dates or digest map) was changed"
    assert expected in catalog_error(catalog_copy(postpone_review, name="header.yaml"))

    def forge_map(data: dict[str, object]) -> None:
        qi_digests = data["qi_digests"]
        assert isinstance(qi_digests, dict)
        qi_digests["rpo"] = "sha256:" + "0" * 64

    assert expected in catalog_error(catalog_copy(forge_map, name="map.yaml"))


def test_re_frozen_edit_under_the_published_version_is_refused(tmp_path: Path) -> None:
    packaged = load_catalog()
    edited_qis = tuple(
        qi.model_copy(update={"target": 0.99}) if qi.id == "autonomy_success_rate" else qi
        for qi in packaged.qis
    )
    forged = packaged.model_copy(
        update={"qis": edited_qis, "qi_digests": {qi.id: qi_digest(qi) for qi in edited_qis}}
    )
    forged = forged.model_copy(update={"digest": catalog_digest(forged)})
    path = tmp_path / "forged.yaml"
    path.write_text(dump_catalog(forged), encoding="utf-8")
    message = catalog_error(path)
    assert message.startswith(
        f"QI catalog 1.0.0 ({path}) was changed under its frozen version: "
        "qis[autonomy_success_rate] differs from its frozen digest (digest sha256:"
    )
    assert message.endswith(HOW_TO)


DRAFT_HOW_TO = (
    "restore it, or give the draft a version of its own to experiment with it "
    "(see docs/qi-catalog.md)"
)


def test_a_draft_copy_of_the_published_version_with_a_loosened_threshold_is_refused(
    catalog_copy: CatalogCopy,
) -> None:
    def loosen(data: dict[str, object]) -> None:
        data["status"] = "DRAFT"
        set_field("replication_lag", "target", 90)(data)

    path = catalog_copy(loosen)
    assert catalog_error(path) == (
        f"QI catalog 1.0.0 ({path}) was changed under its frozen version: "
        f"qis[replication_lag] differs from its frozen digest; {DRAFT_HOW_TO}"
    )


def test_a_draft_copy_of_the_published_version_is_refused_even_unedited(
    catalog_copy: CatalogCopy,
) -> None:
    def draft(data: dict[str, object]) -> None:
        data["status"] = "DRAFT"

    path = catalog_copy(draft)
    assert catalog_error(path) == (
        f"QI catalog 1.0.0 ({path}) was changed under its frozen version: "
        f"its status is DRAFT, 1.0.0 was published FROZEN; {DRAFT_HOW_TO}"
    )


def test_a_draft_copy_is_named_from_the_published_digests_not_its_own(
    catalog_copy: CatalogCopy,
) -> None:
    def loosen_and_cover(data: dict[str, object]) -> None:
        data["status"] = "DRAFT"
        set_field("rto", "target", 3600)(data)
        qi_digests = data["qi_digests"]
        assert isinstance(qi_digests, dict)
        qi_digests["rto"] = "sha256:" + "1" * 64

    assert "qis[rto] differs from its frozen digest" in catalog_error(
        catalog_copy(loosen_and_cover)
    )


def draft_version(version: str, edit: Edit | None = None) -> Edit:
    def make(data: dict[str, object]) -> None:
        data["version"] = version
        data["status"] = "DRAFT"
        if edit is not None:
            edit(data)

    return make


def test_a_draft_under_a_version_of_its_own_loads_with_its_content_digest(
    catalog_copy: CatalogCopy,
) -> None:
    path = catalog_copy(draft_version("1.1.0", set_field("rpo", "target", 600)))

    catalog = load_catalog(path)

    assert (catalog.version, catalog.status) == ("1.1.0", "DRAFT")
    assert catalog.get("rpo").target == 600
    # The stale digest field of the draft is never passed on: the content's digest is.
    assert catalog.digest == catalog_digest(catalog) != PUBLISHED_DIGESTS["1.0.0"]
    assert catalog_reference(catalog).digest == catalog.digest


def test_a_frozen_catalog_of_an_unpublished_version_is_refused(
    catalog_copy: CatalogCopy,
) -> None:
    def new_version(data: dict[str, object]) -> None:
        data["version"] = "1.1.0"
        set_field("rpo", "target", 600)(data)

    path = catalog_copy(new_version)
    freeze(path)
    assert catalog_error(path) == (
        f"QI catalog 1.1.0 ({path}) is FROZEN, but 1.1.0 is not a published version "
        "(published: 1.0.0); set status: DRAFT to experiment with it (its evidence is "
        "labelled draft catalog), or publish it (see docs/qi-catalog.md)"
    )


def test_the_reference_records_the_digest_of_the_content_used() -> None:
    packaged = load_catalog()
    loosened = packaged.model_copy(
        update={
            "status": "DRAFT",
            "qis": tuple(
                qi.model_copy(update={"target": 90.0}) if qi.id == "replication_lag" else qi
                for qi in packaged.qis
            ),
        }
    )
    # The model still carries the published digest in its field; the reference does not.
    assert loosened.digest == PUBLISHED_DIGESTS["1.0.0"]
    reference = catalog_reference(loosened)
    assert reference.digest == catalog_digest(loosened) != PUBLISHED_DIGESTS["1.0.0"]
    assert not is_published(reference)
    assert draft_label(reference) == "draft catalog 1.0.0"


# --------------------------------------------------------------------------- freezing


def test_freeze_publishes_a_new_version_once_its_digest_is_published(
    catalog_copy: CatalogCopy, monkeypatch: pytest.MonkeyPatch
) -> None:
    def new_version(data: dict[str, object]) -> None:
        data["version"] = "1.1.0"
        data["status"] = "DRAFT"
        data["frozen_on"] = date(2026, 1, 10)
        set_field("rpo", "target", 240)(data)

    path = catalog_copy(new_version)
    frozen = freeze(path)
    assert frozen.status == "FROZEN"
    assert frozen.review_due == date(2026, 4, 10)
    assert frozen.digest != PUBLISHED_DIGESTS["1.0.0"]
    with pytest.raises(CatalogError, match=r"1\.1\.0 is not a published version"):
        load_catalog(path)
    monkeypatch.setitem(PUBLISHED_DIGESTS, "1.1.0", frozen.digest)
    reloaded = load_catalog(path)
    assert reloaded == frozen
    assert reloaded.get("rpo").target == 240
    assert path.read_text(encoding="utf-8").startswith("# QI catalog of the MC v0.3+")


def test_freeze_refuses_to_republish_a_version(catalog_copy: CatalogCopy) -> None:
    path = catalog_copy(set_field("rpo", "target", 240))
    with pytest.raises(CatalogError) as excinfo:
        freeze(path)
    assert str(excinfo.value) == (
        f"QI catalog version 1.0.0 is already published with digest "
        f"{PUBLISHED_DIGESTS['1.0.0']}; give the changed catalog a new version"
    )


def test_freezing_the_packaged_catalog_again_changes_nothing(catalog_copy: CatalogCopy) -> None:
    path = catalog_copy()
    assert freeze(path).digest == PUBLISHED_DIGESTS["1.0.0"]
    assert path.read_text(encoding="utf-8") == DEFAULT_CATALOG_PATH.read_text(encoding="utf-8")


def test_freeze_module_entry_point(
    catalog_copy: CatalogCopy, capsys: pytest.CaptureFixture[str]
) -> None:
    def new_version(data: dict[str, object]) -> None:
        data["version"] = "2.0.0"

    path = catalog_copy(new_version)
    assert main(["--freeze", str(path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("froze QI catalog 2.0.0: sha256:")
    assert "to publish it, add '2.0.0': 'sha256:" in out
    assert out.endswith(
        "to PUBLISHED_DIGESTS in pytest_mc/policy/catalog.py; until then it is refused as FROZEN\n"
    )
    assert main(["--freeze", str(path.with_name("missing.yaml"))]) == 2
    assert capsys.readouterr().err.startswith("error: QI catalog not found: ")


# --------------------------------------------------------------------------- references


def test_catalog_reference() -> None:
    catalog = load_catalog()
    assert catalog_reference(catalog) == CatalogReference(
        version="1.0.0",
        digest=PUBLISHED_DIGESTS["1.0.0"],
        status="FROZEN",
        review_due=date(2025, 12, 24),
    )


def test_a_reference_to_the_published_catalog_is_accepted() -> None:
    reference = catalog_reference(load_catalog())
    check_reference(reference, where="b.json")
    assert is_published(reference)
    assert draft_label(reference) is None


def reference(**overrides: object) -> CatalogReference:
    fields: dict[str, object] = {
        "version": "1.0.0",
        "digest": PUBLISHED_DIGESTS["1.0.0"],
        "status": "FROZEN",
        "review_due": date(2025, 12, 24),
    }
    fields.update(overrides)
    return CatalogReference.model_validate(fields)


def test_a_reference_to_a_published_version_with_another_digest_is_refused() -> None:
    other = "sha256:" + "ab" * 32
    with pytest.raises(BundleError) as excinfo:
        check_reference(reference(digest=other), where="evidence-r.json")
    assert str(excinfo.value) == (
        "evidence-r.json cites QI catalog 1.0.0 FROZEN sha256:abababababab…, but 1.0.0 was "
        "published FROZEN sha256:9be1e9ec1eb4…: the evidence was judged against an altered "
        "catalog; make it again against the published catalog"
    )
    assert excinfo.value.exit_code == 2


def test_a_draft_reference_to_a_published_version_is_refused() -> None:
    with pytest.raises(BundleError, match=r"^b\.json cites QI catalog 1\.0\.0 DRAFT "):
        check_reference(reference(status="DRAFT"), where="b.json")


def test_a_frozen_reference_to_an_unpublished_version_is_refused() -> None:
    with pytest.raises(BundleError) as excinfo:
        check_reference(reference(version="1.1.0"), where="b.json")
    assert str(excinfo.value) == (
        "b.json cites QI catalog 1.1.0 as FROZEN, but 1.1.0 is not a published version "
        "(published: 1.0.0); evidence made against an unpublished catalog cannot pass as "
        "frozen"
    )


def test_a_draft_reference_to_a_version_of_its_own_is_accepted_and_labelled() -> None:
    draft = reference(version="1.1.0", status="DRAFT", digest="sha256:" + "cd" * 32)
    check_reference(draft, where="b.json")
    assert not is_published(draft)
    assert draft_label(draft) == "draft catalog 1.1.0"


def test_review_warning() -> None:
    catalog = load_catalog()
    assert review_warning(catalog, date(2025, 10, 1)) is None
    assert review_warning(catalog, date(2025, 12, 24)) is None
    assert review_warning(catalog, date(2025, 12, 25)) == (
        "QI catalog 1.0.0 review was due 2025-12-24, 1 day ago; "
        "review it and publish a new catalog version"
    )
    assert review_warning(catalog, date(2025, 12, 24) + timedelta(days=40)) == (
        "QI catalog 1.0.0 review was due 2025-12-24, 40 days ago; "
        "review it and publish a new catalog version"
    )


def test_unknown_qi_id() -> None:
    catalog = load_catalog()
    with pytest.raises(UnknownQiError) as excinfo:
        catalog.get("replication_lagg")
    message = str(excinfo.value)
    assert message.startswith(
        "unknown QI id 'replication_lagg' in QI catalog 1.0.0; did you mean 'replication_lag'? "
        "known ids: persisted_only_compliance, replication_lag, conflict_rate, rpo, rto, "
    )
    assert message.endswith("expansion_green_streak; check the spelling or the catalog version")
    assert isinstance(excinfo.value, CatalogError)
    assert isinstance(excinfo.value, InputError)
    with pytest.raises(UnknownQiError, match=r"^unknown QI id 'zzz' in QI catalog 1\.0\.0; known"):
        catalog.get("zzz")


# --------------------------------------------------------------------------- bad input


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    assert catalog_error(path) == (
        f"QI catalog not found: {path}; pass --catalog PATH to an existing file, "
        "or omit it to use the packaged catalog"
    )


def test_directory_instead_of_file(tmp_path: Path) -> None:
    assert catalog_error(tmp_path) == (
        f"QI catalog {tmp_path} is not a file; pass --catalog PATH to an existing file, "
        "or omit it to use the packaged catalog"
    )


def test_malformed_yaml(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("version: 1.0.0\nstatus: FROZEN\nqis: [\n  - id: rpo\n", encoding="utf-8")
    message = catalog_error(path)
    assert message.startswith(f"{path}:4:3: malformed YAML in QI catalog: ")
    assert message.endswith("; fix the syntax there")


def test_duplicate_yaml_key(tmp_path: Path) -> None:
    path = tmp_path / "dup.yaml"
    path.write_text("version: 1.0.0\nstatus: FROZEN\nversion: 2.0.0\n", encoding="utf-8")
    assert catalog_error(path) == (
        f"{path}:3:1: malformed YAML in QI catalog: duplicate key 'version'; fix the syntax there"
    )


def test_top_level_must_be_a_mapping(tmp_path: Path) -> None:
    path = tmp_path / "list.yaml"
    path.write_text("- 1\n- 2\n", encoding="utf-8")
    assert catalog_error(path) == (
        f"{path}: a QI catalog must be a YAML mapping (version, status, qis, ...), found list"
    )


def line_of(path: Path, needle: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(number for number, line in enumerate(lines, start=1) if needle in line)


def test_unknown_field(catalog_copy: CatalogCopy) -> None:
    path = catalog_copy(set_field("rpo", "colour", "red"))
    line = line_of(path, "colour: red")
    assert catalog_error(path) == (
        f"{path}:{line}: invalid QI catalog: qis[3].colour: unknown field "
        "(not part of the QI catalog format); fix that field"
    )


def test_wrong_type(catalog_copy: CatalogCopy) -> None:
    path = catalog_copy(set_field("rpo", "target", "five minutes"))
    line = line_of(path, "target: five minutes")
    assert catalog_error(path) == (
        f"{path}:{line}: invalid QI catalog: qis[3].target: Input should be a valid number, "
        "unable to parse string as a number (got 'five minutes'); fix that field"
    )


def test_missing_field_points_at_the_qi(catalog_copy: CatalogCopy) -> None:
    def drop_owner(data: dict[str, object]) -> None:
        qis = data["qis"]
        assert isinstance(qis, list)
        del qis[qi_index(data, "rto")]["owner"]

    path = catalog_copy(drop_owner)
    line = line_of(path, "- id: rto")
    assert catalog_error(path) == (
        f"{path}:{line}: invalid QI catalog: qis[4].owner: Field required; fix that field"
    )


def test_duplicate_qi_ids(catalog_copy: CatalogCopy) -> None:
    path = catalog_copy(set_field("rto", "id", "rpo"))
    line = line_of(path, "qis:")
    assert catalog_error(path) == (
        f"{path}:{line}: invalid QI catalog: qis: duplicate QI id 'rpo' (qis[3] and qis[4]); "
        "every id must be unique; fix that field"
    )


def test_review_due_must_follow_frozen_on(catalog_copy: CatalogCopy) -> None:
    def edit(data: dict[str, object]) -> None:
        data["review_due"] = date(2026, 1, 1)

    path = catalog_copy(edit)
    assert catalog_error(path) == (
        f"{path}:1: invalid QI catalog: (top level): review_due 2026-01-01 must be frozen_on "
        "+ review_days = 2025-12-24; fix that field"
    )


def test_a_huge_review_period_is_one_line(catalog_copy: CatalogCopy) -> None:
    def edit(data: dict[str, object]) -> None:
        data["review_days"] = 99999999999

    path = catalog_copy(edit)
    line = line_of(path, "review_days:")
    assert catalog_error(path) == (
        f"{path}:{line}: invalid QI catalog: review_days: Input should be less than or equal "
        "to 3660 (got 99999999999); fix that field"
    )


def test_a_review_due_past_the_last_date_is_one_line(catalog_copy: CatalogCopy) -> None:
    def edit(data: dict[str, object]) -> None:
        data["frozen_on"] = date(9999, 12, 1)

    path = catalog_copy(edit)
    assert catalog_error(path) == (
        f"{path}:1: invalid QI catalog: (top level): frozen_on 9999-12-01 + review_days 90 is "
        "past the last representable date; fix that field"
    )


def test_freeze_refuses_a_huge_review_period_in_one_line(catalog_copy: CatalogCopy) -> None:
    def edit(data: dict[str, object]) -> None:
        data["version"] = "1.1.0"
        data["review_days"] = 99999999999

    path = catalog_copy(edit)
    with pytest.raises(CatalogError) as excinfo:
        freeze(path)
    assert str(excinfo.value) == (
        f"{path}: freeze needs frozen_on (YYYY-MM-DD) and review_days (1 to 3660 days)"
    )


def test_several_errors_are_counted(catalog_copy: CatalogCopy) -> None:
    def edit(data: dict[str, object]) -> None:
        set_field("rpo", "target", "x")(data)
        set_field("rto", "target", "y")(data)

    assert catalog_error(catalog_copy(edit)).endswith("(got 'x') (and 1 more); fix that field")


# --------------------------------------------------------------------------- model rules


def qi_fields(**overrides: object) -> dict[str, object]:
    fields: dict[str, object] = {
        "id": "demo_rate",
        "title": "Demo",
        "category": "slo",
        "kind": "rate",
        "comparator": ">=",
        "target": 0.99,
        "unit": "fraction",
        "success_is": "events",
        "plan_section": "A.1",
        "owner": "SRE",
        "accountable": "MC",
    }
    fields.update(overrides)
    return fields


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"success_is": None}, "a rate QI must say success_is"),
        ({"comparator": "=="}, "a rate QI needs a one-sided comparator"),
        ({"success_is": "non_events"}, "success_is 'non_events' contradicts comparator '>='"),
        ({"kind": "threshold"}, "confidence and success_is apply to kind 'rate' only"),
        (
            {"kind": "tripwire", "success_is": None},
            "a tripwire QI must name its auto-action in 'action'",
        ),
        ({"id": "Bad-Id"}, "String should match pattern"),
        ({"target": float("nan")}, "target must be a finite number"),
        ({"weight": 1.5}, "less than or equal to 1"),
    ],
)
def test_qi_definition_rules(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        QiDefinition.model_validate(qi_fields(**overrides))


def test_models_are_frozen_and_strict() -> None:
    catalog = load_catalog()
    with pytest.raises(ValidationError):
        catalog.qis[0].target = 0.5  # type: ignore[misc]
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        QiDefinition.model_validate(qi_fields(colour="red"))
    data = catalog.model_dump()
    data["qis"] = ()
    with pytest.raises(ValidationError, match="at least 1 item"):
        QiCatalog.model_validate(data)


def test_packaged_yaml_is_what_dump_catalog_writes() -> None:
    raw = yaml.safe_load(DEFAULT_CATALOG_PATH.read_text(encoding="utf-8"))
    assert list(raw)[:6] == [
        "version",
        "status",
        "frozen_on",
        "review_days",
        "review_due",
        "digest",
    ]
    assert dump_catalog(load_catalog()) == DEFAULT_CATALOG_PATH.read_text(encoding="utf-8")
