"""The plugin's typed settings, from command-line options, ini keys and defaults.

Each setting has an option (`--mc-target`) and a matching ini key (`mc_target`); the option
wins. Evidence is recorded only when the suite is switched on: a `--mc-*` option or an
`mc_*` ini key is set, so installing the plugin changes nothing for other test suites.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

DEFAULT_RELEASE = "v0.3.1-mc"
DEFAULT_OUT = "dist"
LOCAL_TARGET = "local"


@dataclass(frozen=True)
class McSettings:
    """Resolved settings of one session."""

    enabled: bool
    target: str
    out_dir: Path
    release: str
    catalog: Path | None
    signing_key: Path | None
    target_check: bool = False

    @property
    def target_is_local(self) -> bool:
        return self.target == LOCAL_TARGET


SETTINGS_KEY = pytest.StashKey[McSettings]()

# (option dest, ini key, help, default)
OPTIONS: tuple[tuple[str, str, str], ...] = (
    ("target", "target profile YAML, or 'local' to start the reference staging", LOCAL_TARGET),
    ("out", "directory for the evidence chain, bundle and artifacts", DEFAULT_OUT),
    ("release", "release the evidence is for (bundle file evidence-RELEASE.json)", DEFAULT_RELEASE),
    ("catalog", "QI catalog YAML (default: the frozen catalog shipped with pytest-mc)", ""),
    ("signing_key", "PEM Ed25519 key to sign the bundle (default: ephemeral, marked so)", ""),
    (
        "target_check",
        "yes: check the whole target contract before any scenario (mc-verify target check)",
        "no",
    ),
)


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("mc", "MC expansion-plan verification (pytest-mc)")
    for name, help_text, default in OPTIONS:
        flag = "--mc-" + name.replace("_", "-")
        group.addoption(
            flag, dest=f"mc_{name}", default=None, help=f"{help_text} [{default or '-'}]"
        )
        parser.addini(f"mc_{name}", help_text, default="")


def resolve(config: pytest.Config) -> McSettings:
    """Options win over ini keys; paths from options are relative to the invocation
    directory, paths from the ini file to the ini file's directory."""
    values: dict[str, str] = {}
    bases: dict[str, Path] = {}
    explicit = False
    for name, _help, default in OPTIONS:
        option = config.getoption(f"mc_{name}")
        ini = str(config.getini(f"mc_{name}") or "")
        explicit = explicit or option is not None or bool(ini)
        if option is not None:
            values[name], bases[name] = option, config.invocation_params.dir
        else:
            values[name], bases[name] = (ini or default), config.rootpath

    def path(name: str) -> Path | None:
        return (bases[name] / values[name]).resolve() if values[name] else None

    target = values["target"]
    return McSettings(
        enabled=explicit,
        target=target if target == LOCAL_TARGET else str(path("target")),
        out_dir=path("out") or Path(DEFAULT_OUT).resolve(),
        release=values["release"],
        catalog=path("catalog"),
        signing_key=path("signing_key"),
        target_check=_yes(values["target_check"], "target_check"),
    )


def _yes(value: str, name: str) -> bool:
    if value.lower() in ("yes", "true", "1"):
        return True
    if value.lower() in ("no", "false", "0", ""):
        return False
    raise pytest.UsageError(f"--mc-{name.replace('_', '-')} {value!r}: write yes or no")
