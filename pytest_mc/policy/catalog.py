"""The QI catalog: its models, loading with one-line errors, and the catalog's identity.

Every number the suite judges against lives in one YAML catalog (DESIGN §6). A catalog is
known by its version and the RFC 8785 digest of its content: a catalog that claims a published
version must be that version's frozen content, whatever its status says, and anything else is
refused naming the QIs that differ. A DRAFT under a version of its own may be used for
experiments; evidence made with it is labelled "draft catalog" and never satisfies a DoD item.
``python -m pytest_mc.policy.catalog --freeze PATH`` publishes.
"""

from __future__ import annotations

import argparse
import difflib
import hashlib
import math
import sys
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Literal, TypeAlias

import rfc8785
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from pytest_mc.errors import BundleError, CatalogError, UnknownQiError
from pytest_mc.inputs import FileKind, load_model, read_mapping, validation_message

Category = Literal["slo", "cost", "privacy", "autonomy", "dr", "rollout"]
QiKind = Literal["rate", "threshold", "count", "streak", "tripwire", "stage"]
Comparator = Literal["<=", "<", ">=", ">", "=="]
Unit = Literal["fraction", "seconds", "count", "days", "ratio"]
JsonValue: TypeAlias = (
    "bool | int | float | str | Sequence[JsonValue] | Mapping[str, JsonValue] | None"
)

DEFAULT_CATALOG_PATH: Path = Path(__file__).parent / "qi-catalog-v1.yaml"

# Every catalog version ever published, with its digest. A catalog that claims one of these
# versions must carry exactly this digest: re-freezing edited content under an old version
# number is refused, because evidence bundles cite catalogs by version and digest.
PUBLISHED_DIGESTS: Mapping[str, str] = {
    "1.0.0": "sha256:9be1e9ec1eb43adbd2480597f328c52dfe2b38819cb70d1e97e2045e5210d6d5",
}

_HOW_TO_CHANGE = "restore it or publish a new catalog version (see docs/qi-catalog.md)"
# A review period of more than ten years is a typo, and a huge one overflows the date.
MAX_REVIEW_DAYS = 3660
DRAFT_CATALOG = "draft catalog"


class QiDefinition(BaseModel):
    """One quality indicator: what is measured, in which unit, and the rule it must meet."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$")
    title: str
    category: Category
    kind: QiKind
    comparator: Comparator
    target: float
    unit: Unit
    window_seconds: float | None = Field(default=None, gt=0)
    confidence: float | None = Field(default=None, gt=0, lt=1)
    success_is: Literal["events", "non_events"] | None = None
    weight: float | None = Field(default=None, ge=0, le=1)
    action: str | None = None
    plan_section: str
    owner: str
    accountable: str
    dod: bool = False
    notes: str | None = None

    @field_validator("target")
    @classmethod
    def _finite_target(cls, target: float) -> float:
        if not math.isfinite(target):
            raise ValueError(f"target must be a finite number, not {target!r}")
        return target

    @model_validator(mode="after")
    def _consistent_kind(self) -> QiDefinition:
        if self.kind == "rate":
            if self.comparator == "==":
                raise ValueError("a rate QI needs a one-sided comparator (<=, <, >=, >), not '=='")
            if self.success_is is None:
                raise ValueError(
                    "a rate QI must say success_is: events (counted events are the good "
                    "outcomes) or non_events (counted events are the bad ones)"
                )
            wants = "events" if self.comparator in (">=", ">") else "non_events"
            if self.success_is != wants:
                raise ValueError(
                    f"success_is {self.success_is!r} contradicts comparator "
                    f"{self.comparator!r}: a rate that must stay {self.comparator} its target "
                    f"counts {'good' if wants == 'events' else 'bad'} outcomes, so use {wants!r}"
                )
        elif self.confidence is not None or self.success_is is not None:
            raise ValueError("confidence and success_is apply to kind 'rate' only")
        if self.kind == "tripwire" and not self.action:
            raise ValueError("a tripwire QI must name its auto-action in 'action'")
        return self


class QiCatalog(BaseModel):
    """A versioned set of QIs; FROZEN catalogs are immutable under their version."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: str = Field(pattern=r"^\d+\.\d+\.\d+$")
    status: Literal["DRAFT", "FROZEN"]
    frozen_on: date
    review_days: int = Field(default=90, gt=0, le=MAX_REVIEW_DAYS)
    review_due: date
    digest: str = Field(pattern=r"^sha256:[0-9a-f]{64}$")
    qi_digests: dict[str, str]
    qis: tuple[QiDefinition, ...] = Field(min_length=1)

    def __repr__(self) -> str:
        # shown wherever the catalog is an argument (every step of an Allure report): who it
        # is, not all of it
        return f"QiCatalog({self.version} {self.status}, {len(self.qis)} QIs, {self.digest[:19]}…)"

    @field_validator("qis")
    @classmethod
    def _unique_ids(cls, qis: tuple[QiDefinition, ...]) -> tuple[QiDefinition, ...]:
        first_seen: dict[str, int] = {}
        for index, qi in enumerate(qis):
            if qi.id in first_seen:
                raise ValueError(
                    f"duplicate QI id {qi.id!r} (qis[{first_seen[qi.id]}] and qis[{index}]); "
                    "every id must be unique"
                )
            first_seen[qi.id] = index
        return qis

    @model_validator(mode="after")
    def _review_due_matches(self) -> QiCatalog:
        try:
            expected = self.frozen_on + timedelta(days=self.review_days)
        except OverflowError:
            raise ValueError(
                f"frozen_on {self.frozen_on.isoformat()} + review_days {self.review_days} is "
                "past the last representable date"
            ) from None
        if self.review_due != expected:
            raise ValueError(
                f"review_due {self.review_due.isoformat()} must be frozen_on + review_days "
                f"= {expected.isoformat()}"
            )
        return self

    @property
    def ids(self) -> tuple[str, ...]:
        """The QI ids in catalog order."""
        return tuple(qi.id for qi in self.qis)

    def get(self, qi_id: str) -> QiDefinition:
        """Return the QI with this id, or raise :class:`UnknownQiError` listing the known ids."""
        for qi in self.qis:
            if qi.id == qi_id:
                return qi
        close = difflib.get_close_matches(qi_id, self.ids, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise UnknownQiError(
            f"unknown QI id {qi_id!r} in QI catalog {self.version}; {hint}known ids: "
            f"{', '.join(self.ids)}; check the spelling or the catalog version"
        )


class CatalogReference(BaseModel):
    """How an evidence bundle cites the catalog it was judged against."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: str
    digest: str
    status: Literal["DRAFT", "FROZEN"]
    review_due: date


# --------------------------------------------------------------------------- digests


def canonical_digest(obj: JsonValue) -> str:
    """``"sha256:<hex>"`` of the RFC 8785 canonical JSON of a JSON-compatible value.

    RFC 8785 writes numbers the ECMAScript way (shortest round-trip form), so 0.999 is always
    ``0.999`` and 60.0 is always ``60``, whatever the YAML spelled.
    """
    return "sha256:" + hashlib.sha256(rfc8785.dumps(obj)).hexdigest()


def qi_digest(qi: QiDefinition) -> str:
    """The digest of one QI's content (fields left at their defaults are omitted)."""
    return canonical_digest(qi.model_dump(mode="json", exclude_defaults=True))


def catalog_digest(catalog: QiCatalog) -> str:
    """The digest over the whole catalog except the ``digest`` field itself.

    Defaults are omitted so that a later optional field with a default does not change the
    digest of catalogs already published.
    """
    content = catalog.model_dump(mode="json", exclude_defaults=True, exclude={"digest"})
    return canonical_digest(content)


def catalog_reference(catalog: QiCatalog) -> CatalogReference:
    """The reference an evidence bundle embeds: the digest of the content actually used.

    The digest is recomputed, never copied from the catalog's ``digest`` field, so a catalog
    edited without re-freezing cannot cite the digest of the content it replaced.
    """
    return CatalogReference(
        version=catalog.version,
        digest=catalog_digest(catalog),
        status=catalog.status,
        review_due=catalog.review_due,
    )


def is_published(reference: CatalogReference) -> bool:
    """Whether a reference names a published catalog: FROZEN, with its version's digest."""
    published = PUBLISHED_DIGESTS.get(reference.version)
    return reference.status == "FROZEN" and published == reference.digest


def draft_label(reference: CatalogReference) -> str | None:
    """``"draft catalog 1.1.0"`` for evidence judged against an unpublished catalog, else None."""
    return None if is_published(reference) else f"{DRAFT_CATALOG} {reference.version}"


def check_reference(reference: CatalogReference, *, where: str) -> None:
    """Refuse a catalog reference that no catalog accepted by :func:`load_catalog` can make.

    A reference naming a published version must carry that version's published digest (and
    status FROZEN); a FROZEN reference must name a published version. ``where`` names the
    evidence that holds the reference. Raises :class:`BundleError`.
    """
    published = PUBLISHED_DIGESTS.get(reference.version)
    if published is not None and (reference.digest, reference.status) != (published, "FROZEN"):
        raise BundleError(
            f"{where} cites QI catalog {reference.version} {reference.status} "
            f"{reference.digest[:19]}…, but {reference.version} was published FROZEN "
            f"{published[:19]}…: the evidence was judged against an altered catalog; make it "
            f"again against the published catalog"
        )
    if published is None and reference.status == "FROZEN":
        raise BundleError(
            f"{where} cites QI catalog {reference.version} as FROZEN, but {reference.version} "
            f"is not a published version ({_published_versions()}); evidence made against an "
            f"unpublished catalog cannot pass as frozen"
        )


def review_warning(catalog: QiCatalog, today: date) -> str | None:
    """A warning when the catalog's review date has passed, else ``None``."""
    overdue = (today - catalog.review_due).days
    if overdue <= 0:
        return None
    days = "day" if overdue == 1 else "days"
    return (
        f"QI catalog {catalog.version} review was due {catalog.review_due.isoformat()}, "
        f"{overdue} {days} ago; review it and publish a new catalog version"
    )


def changed_parts(catalog: QiCatalog, recorded: Mapping[str, str] | None = None) -> list[str]:
    """Which parts of a catalog differ from a map of frozen per-QI digests.

    ``recorded`` defaults to the catalog's own ``qi_digests``. Returns ``qis[<id>]`` for every
    QI whose content no longer matches, ``qis[<id>] (added)`` or ``(removed)`` when the set of
    ids changed, or ``["the catalog header"]`` when every QI still matches (so the header or
    the digest map itself was edited).
    """
    frozen = catalog.qi_digests if recorded is None else recorded
    parts: list[str] = []
    for qi in catalog.qis:
        if qi.id not in frozen:
            parts.append(f"qis[{qi.id}] (added)")
        elif frozen[qi.id] != qi_digest(qi):
            parts.append(f"qis[{qi.id}]")
    present = set(catalog.ids)
    parts.extend(f"qis[{qi_id}] (removed)" for qi_id in frozen if qi_id not in present)
    return parts or ["the catalog header"]


def _describe(parts: Sequence[str]) -> str:
    if parts == ["the catalog header"]:
        return "the catalog header (version, dates or digest map) was changed"
    if len(parts) == 1:
        return f"{parts[0]} differs from its frozen digest"
    return f"{', '.join(parts)} differ from their frozen digests"


def _published_reference(version: str) -> QiCatalog | None:
    """The packaged catalog, when it is the published edition of ``version``."""
    published = PUBLISHED_DIGESTS.get(version)
    if published is None or not DEFAULT_CATALOG_PATH.is_file():
        return None
    try:
        reference = _load_unchecked(DEFAULT_CATALOG_PATH)
    except CatalogError:
        return None
    if reference.version != version or reference.digest != published:
        return None
    if catalog_digest(reference) != published:
        return None
    return reference


def _published_versions() -> str:
    return "published: " + ", ".join(sorted(PUBLISHED_DIGESTS))


def check_identity(catalog: QiCatalog, source: Path | None = None) -> None:
    """Refuse a catalog that is not what its version and status say it is.

    - A catalog that claims a published version must be exactly that version's frozen
      content, whatever its status says (status is part of the digest, so a DRAFT copy of a
      published version is refused too). The QIs that differ are named from the published
      per-QI digests when the packaged catalog is that version, else from the catalog's own
      ``qi_digests``.
    - A FROZEN catalog must name a published version: freezing a copy does not publish it.
    - A DRAFT under a version of its own is accepted; it is not digest-checked.
    """
    where = f" ({source})" if source is not None else ""
    published = PUBLISHED_DIGESTS.get(catalog.version)
    content = catalog_digest(catalog)
    if published is None:
        if catalog.status == "FROZEN":
            raise CatalogError(
                f"QI catalog {catalog.version}{where} is FROZEN, but {catalog.version} is not "
                f"a published version ({_published_versions()}); set status: DRAFT to "
                f"experiment with it (its evidence is labelled {DRAFT_CATALOG}), or publish it "
                f"(see docs/qi-catalog.md)"
            )
        return
    if content == published == catalog.digest:
        return
    reference = _published_reference(catalog.version)
    recorded = reference.qi_digests if reference is not None else None
    parts = changed_parts(catalog, recorded)
    if parts == ["the catalog header"] and catalog.status != "FROZEN":
        detail = f"its status is {catalog.status}, {catalog.version} was published FROZEN"
    else:
        detail = _describe(parts)
    if content == catalog.digest and catalog.status == "FROZEN":
        detail += f" (digest {catalog.digest[:15]}…, published {published[:15]}…)"
    how = (
        _HOW_TO_CHANGE
        if catalog.status == "FROZEN"
        else "restore it, or give the draft a version of its own to experiment with it "
        "(see docs/qi-catalog.md)"
    )
    raise CatalogError(
        f"QI catalog {catalog.version}{where} was changed under its frozen version: {detail}; {how}"
    )


# --------------------------------------------------------------------------- loading


_CATALOG_FILE = FileKind(
    name="QI catalog",
    error=CatalogError,
    missing_hint="pass --catalog PATH to an existing file, or omit it to use the packaged catalog",
    shape=" (version, status, qis, ...)",
)


def _load_unchecked(path: Path) -> QiCatalog:
    return load_model(path, QiCatalog, _CATALOG_FILE)


def load_catalog(path: Path | None = None) -> QiCatalog:
    """Read, validate and identity-check a QI catalog (:func:`check_identity`).

    ``None`` means the packaged catalog. Every failure is a :class:`CatalogError` whose
    message is one line: what is wrong, where (file:line, field) and what to do. A DRAFT's
    ``digest`` field is not trusted: the catalog returned carries its content's digest.
    """
    source = DEFAULT_CATALOG_PATH if path is None else Path(path)
    catalog = _load_unchecked(source)
    check_identity(catalog, source)
    content = catalog_digest(catalog)
    if catalog.digest != content:
        catalog = catalog.model_copy(update={"digest": content})
    return catalog


# --------------------------------------------------------------------------- publishing


def freeze(path: Path) -> QiCatalog:
    """Recompute review_due and every digest of the catalog at ``path`` and rewrite it FROZEN.

    The maintainer's way to publish a new catalog version: edit a copy, give it a new
    ``version`` and ``frozen_on``, run this, then add the version and digest to
    ``PUBLISHED_DIGESTS``. Refuses to re-freeze a published version with other content.
    """
    data, text = read_mapping(path, _CATALOG_FILE)
    draft = dict(data)
    draft["status"] = "FROZEN"
    draft["digest"] = "sha256:" + "0" * 64
    draft["qi_digests"] = {}
    try:
        frozen_on = date.fromisoformat(str(draft["frozen_on"]))
        review_days = int(str(draft.get("review_days", 90)))
        draft["review_due"] = (frozen_on + timedelta(days=review_days)).isoformat()
    except (KeyError, ValueError, OverflowError) as exc:
        raise CatalogError(
            f"{path}: freeze needs frozen_on (YYYY-MM-DD) and review_days (1 to "
            f"{MAX_REVIEW_DAYS} days)"
        ) from exc
    try:
        catalog = QiCatalog.model_validate(draft)
    except ValidationError as exc:
        raise CatalogError(validation_message(path, text, exc, _CATALOG_FILE)) from exc
    catalog = catalog.model_copy(
        update={"qi_digests": {qi.id: qi_digest(qi) for qi in catalog.qis}}
    )
    catalog = catalog.model_copy(update={"digest": catalog_digest(catalog)})
    published = PUBLISHED_DIGESTS.get(catalog.version)
    if published is not None and published != catalog.digest:
        raise CatalogError(
            f"QI catalog version {catalog.version} is already published with digest "
            f"{published}; give the changed catalog a new version"
        )
    path.write_text(dump_catalog(catalog), encoding="utf-8")
    return catalog


class _CatalogDumper(yaml.SafeDumper):
    """Writes long notes as folded blocks so the YAML stays readable."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = ">" if len(value) > 80 else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_CatalogDumper.add_representer(str, _represent_str)

_HEADER = """\
# QI catalog of the MC v0.3+ Expansion Plan. Every number pytest-mc judges against lives here.
# FROZEN: do not edit in place. To change anything, copy it, give it a new version and
# frozen_on, and run `python -m pytest_mc.policy.catalog --freeze PATH` (docs/qi-catalog.md).
"""


def dump_catalog(catalog: QiCatalog) -> str:
    """The catalog as YAML in the shipped layout: header fields, digests, then the QIs."""
    body = catalog.model_dump(mode="json", exclude_none=True)
    ordered = {
        key: body[key]
        for key in ("version", "status", "frozen_on", "review_days", "review_due", "digest")
    }
    ordered["qis"] = body["qis"]
    ordered["qi_digests"] = body["qi_digests"]
    dumped = yaml.dump(
        ordered, Dumper=_CatalogDumper, sort_keys=False, width=96, allow_unicode=True
    )
    return _HEADER + dumped


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m pytest_mc.policy.catalog --freeze PATH``: the maintainer's publishing tool."""
    parser = argparse.ArgumentParser(prog="python -m pytest_mc.policy.catalog")
    parser.add_argument("--freeze", type=Path, required=True, metavar="PATH")
    args = parser.parse_args(argv)
    try:
        catalog = freeze(args.freeze)
    except CatalogError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    print(f"froze QI catalog {catalog.version}: {catalog.digest} ({len(catalog.qis)} QIs)")
    if catalog.version not in PUBLISHED_DIGESTS:
        print(
            f"to publish it, add {catalog.version!r}: {catalog.digest!r} to PUBLISHED_DIGESTS "
            "in pytest_mc/policy/catalog.py; until then it is refused as FROZEN"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
