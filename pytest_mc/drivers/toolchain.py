"""The tool inventory: every tool and source revision that produced a number in a run.

An auditor reproduces a run from it: the k6 version, its binary digest and whether that is
the pinned binary (`pytest_mc.drivers.k6_pin`; only a profile's `k6.binary` may differ), the
Chaos Toolkit library version, the suite version, and the git commit of `features/`, `chaos/`
and `k6/` (with whether the checkout had uncommitted changes there).
"""

from __future__ import annotations

import platform
from importlib import metadata
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from pytest_mc.drivers.k6 import locate_k6
from pytest_mc.drivers.k6_models import K6Binary
from pytest_mc.drivers.k6_pin import is_pinned
from pytest_mc.drivers.runner import ToolRunner
from pytest_mc.errors import TargetError
from pytest_mc.target.profile import TargetProfile

_STRICT = ConfigDict(extra="forbid", frozen=True)
SOURCE_DIRECTORIES = ("features", "chaos", "k6")
_GIT_TIMEOUT_SECONDS = 15.0


class SourceRevision(BaseModel):
    """The last commit that touched one project directory; None outside a git checkout."""

    model_config = _STRICT
    directory: str
    commit: str | None
    dirty: bool | None = None


class ToolInventory(BaseModel):
    """The tools behind a run's numbers, as the run record names them."""

    model_config = _STRICT
    k6: K6Binary | None
    k6_problem: str | None = None
    chaostoolkit_lib: str | None
    chaostoolkit: str | None
    pytest_mc: str | None
    python: str
    sources: tuple[SourceRevision, ...]

    def as_tools_dict(self) -> dict[str, str]:
        """`tool → version` (plus digests and commits) for the run record's `tools` field."""
        tools: dict[str, str] = {"python": self.python}
        if self.pytest_mc is not None:
            tools["pytest-mc"] = self.pytest_mc
        if self.k6 is not None:
            tools["k6"] = self.k6.version
            tools["k6.sha256"] = self.k6.sha256
            tools["k6.source"] = self.k6.source
            tools["k6.pinned"] = "true" if is_pinned(self.k6) else "false"
        elif self.k6_problem is not None:
            tools["k6"] = f"unavailable: {self.k6_problem}"
        if self.chaostoolkit_lib is not None:
            tools["chaostoolkit-lib"] = self.chaostoolkit_lib
        if self.chaostoolkit is not None:
            tools["chaostoolkit"] = self.chaostoolkit
        for source in self.sources:
            if source.commit is not None:
                suffix = "+dirty" if source.dirty else ""
                tools[f"git:{source.directory}"] = source.commit + suffix
        return tools


def _version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def _git(runner: ToolRunner, project_root: Path, *args: str) -> str | None:
    """Output of a git command in `project_root`, or None when git or the checkout is absent."""
    try:
        done = runner.run(
            ["git", "-C", str(project_root), *args], tool="git", timeout=_GIT_TIMEOUT_SECONDS
        )
    except TargetError:  # git is not installed
        return None
    return done.stdout if done.ok else None


def head_commit(runner: ToolRunner, project_root: Path) -> str | None:
    """The checkout's HEAD commit, or None outside a git checkout."""
    head = _git(runner, project_root, "rev-parse", "HEAD")
    return head.strip() or None if head else None


def source_revision(runner: ToolRunner, project_root: Path, directory: str) -> SourceRevision:
    """The commit of `project_root/directory` and whether it has uncommitted changes."""
    commit = _git(runner, project_root, "log", "-1", "--format=%H", "--", directory)
    commit = commit.strip() if commit else None
    if not commit:
        return SourceRevision(directory=directory, commit=None)
    status = _git(runner, project_root, "status", "--porcelain", "--", directory)
    return SourceRevision(
        directory=directory,
        commit=commit,
        dirty=None if status is None else bool(status.strip()),
    )


def tool_inventory(
    profile: TargetProfile, *, project_root: Path, runner: ToolRunner | None = None
) -> ToolInventory:
    """Name every tool of this run. A missing k6 is recorded as such, not raised: a run
    without load steps is still a run, and the k6 driver raises when it is actually needed."""
    runner = runner or ToolRunner()
    k6: K6Binary | None = None
    problem: str | None = None
    try:
        k6 = locate_k6(profile, runner)
    except TargetError as exc:
        problem = str(exc)
    return ToolInventory(
        k6=k6,
        k6_problem=problem,
        chaostoolkit_lib=_version("chaostoolkit-lib"),
        chaostoolkit=_version("chaostoolkit"),
        pytest_mc=_version("pytest-mc"),
        python=platform.python_version(),
        sources=tuple(
            source_revision(runner, project_root, directory) for directory in SOURCE_DIRECTORIES
        ),
    )
