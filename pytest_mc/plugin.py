"""pytest-mc's pytest plugin: wiring only (options, hookspecs, markers, the evidence session).

Nothing happens unless the suite is switched on (a `--mc-*` option or `mc_*` ini key): then
the catalog and target profile are loaded, the reference staging is started for
`--mc-target local`, and an `EvidenceSession` is registered for the run.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any, ParamSpec, TypeVar

import pytest

from pytest_mc import hookspecs
from pytest_mc.drivers.target_check import require_target_contract
from pytest_mc.errors import McError
from pytest_mc.fixtures import mc_catalog, mc_evidence, mc_profile
from pytest_mc.items import TAG_MARKERS, in_plan_sections, parse_plan_sections
from pytest_mc.outcomes import OutcomeClassifier
from pytest_mc.policy.catalog import load_catalog
from pytest_mc.reporting.target_check_table import print_target_check
from pytest_mc.session import SESSION_KEY, EvidenceSession, is_worker, new_run_id
from pytest_mc.settings import SETTINGS_KEY, add_options, resolve
from pytest_mc.steps import STEP_MODULES
from pytest_mc.target.loader import load_profile
from pytest_mc.target.local import (
    LocalStaging,
    set_previous_state_aside,
    start_local_staging,
    stop_local_staging,
)

__all__ = ["mc_catalog", "mc_evidence", "mc_profile"]

# The features are pytest-bdd scenarios and the session implements its hooks, so pytest-bdd
# is loaded with us even under PYTEST_DISABLE_PLUGIN_AUTOLOAD. Named by its entry point, so
# that autoloading it afterwards finds it registered (a module name would register it twice).
pytest_plugins = ["pytest-bdd"]

P = ParamSpec("P")
T = TypeVar("T")
_LOCAL_STAGING_KEY = pytest.StashKey[LocalStaging]()
_PREVIOUS_SIGTERM_KEY = pytest.StashKey[Any]()


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(hookspecs)


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)
    parser.getgroup("mc").addoption(
        "--mc-plan",
        dest="mc_plan_sections",
        default=None,
        metavar="SECTIONS",
        help="only the scenarios of these plan sections, comma-separated, e.g. 'A' or "
        "'A.1,A.3' (from their @plan: tags) [all]",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    wanted = parse_plan_sections(config.getoption("mc_plan_sections") or "")
    if not wanted:
        return
    kept = [item for item in items if in_plan_sections(item, wanted)]
    dropped = [item for item in items if not in_plan_sections(item, wanted)]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


def pytest_configure(config: pytest.Config) -> None:
    for marker in TAG_MARKERS.values():
        config.addinivalue_line("markers", marker)
    for module in STEP_MODULES:
        config.pluginmanager.import_plugin(module)
    settings = resolve(config)
    config.stash[SETTINGS_KEY] = settings
    if not settings.enabled:
        return
    try:
        catalog = load_catalog(settings.catalog)
        workerinput = getattr(config, "workerinput", None)
        if workerinput is not None:
            profile_path = Path(workerinput["mc_profile"])
            run_id = str(workerinput["mc_run_id"])
        else:
            run_id = new_run_id()
            profile_path = _profile_path(config, settings.target, settings.out_dir)
        profile = load_profile(profile_path, catalog)
        if settings.target_check and workerinput is None:
            require_target_contract(profile, print_target_check)
    except McError as exc:
        _stop_local(config)
        pytest.exit(f"pytest-mc: {exc}", returncode=exc.exit_code)
    session = EvidenceSession(config, settings, catalog, profile, run_id)
    config.stash[SESSION_KEY] = session
    config.pluginmanager.register(session, "mc-evidence-session")
    config.pluginmanager.register(OutcomeClassifier(), "mc-outcomes")
    _register_allure(config, session)
    if not is_worker(config):
        _interrupt_on_sigterm(config)
        # Registered whether or not xdist is loaded (and under whichever name: `-p xdist`
        # and `-p xdist.plugin` differ); its hook is optional, so it is inert without xdist.
        config.pluginmanager.register(_XdistBridge(run_id, profile_path), "mc-xdist-bridge")


def pytest_unconfigure(config: pytest.Config) -> None:
    session = config.stash.get(SESSION_KEY, None)
    if session is not None:
        config.pluginmanager.unregister(session)
        del config.stash[SESSION_KEY]
    allure_evidence = config.pluginmanager.get_plugin("mc-allure")
    if allure_evidence is not None:
        config.pluginmanager.unregister(allure_evidence)
    bridge = config.pluginmanager.get_plugin("mc-xdist-bridge")
    if bridge is not None:
        config.pluginmanager.unregister(bridge)
    _stop_local(config)
    _restore_sigterm(config)


@pytest.hookimpl(tryfirst=True)
def pytest_bdd_apply_tag(tag: str, function: Callable[P, T]) -> Callable[P, T] | None:
    """Gherkin tags `@plan:A.3`, `@tenant:X`, `@workstream:X`, `@severity:X` become the
    registered mc_* markers (pytest_mc.items)."""
    name, _, value = tag.partition(":")
    if name in TAG_MARKERS and value:
        marked: Callable[P, T] = getattr(pytest.mark, f"mc_{name}")(value)(function)
        return marked
    return None


class _XdistBridge:
    """Hands the controller's run id and profile to every xdist worker."""

    def __init__(self, run_id: str, profile_path: Path) -> None:
        self.run_id = run_id
        self.profile_path = profile_path

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: object) -> None:
        workerinput = node.workerinput  # type: ignore[attr-defined]
        workerinput["mc_run_id"] = self.run_id
        workerinput["mc_profile"] = str(self.profile_path)


def _register_allure(config: pytest.Config, session: EvidenceSession) -> None:
    """Show the evidence in Allure when allure-pytest-bdd writes results (--alluredir)."""
    directory = getattr(config.option, "allure_report_dir", None)  # set by allure-pytest-bdd
    if not directory:
        return
    # Imported only here: the reporting module is the one place that imports allure.
    from pytest_mc.reporting.allure_results import AllureEvidence

    evidence = AllureEvidence(config, session, Path(directory).resolve())
    config.pluginmanager.register(evidence, "mc-allure")


def _interrupt_on_sigterm(config: pytest.Config) -> None:
    """SIGTERM (CI cancelling a job, `kill`) ends the session the way Ctrl-C does: the
    running scenario is interrupted, teardowns put the target back, the evidence recorded so
    far is published as a signed bundle and the embedded staging is stopped. Without this the
    process would die on the spot and leave the staging running."""
    if threading.current_thread() is not threading.main_thread():
        return
    config.stash[_PREVIOUS_SIGTERM_KEY] = signal.getsignal(signal.SIGTERM)
    signal.signal(signal.SIGTERM, _raise_interrupt)


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    del frame
    raise KeyboardInterrupt(signal.Signals(signum).name)


def _restore_sigterm(config: pytest.Config) -> None:
    previous = config.stash.get(_PREVIOUS_SIGTERM_KEY, None)
    if previous is not None and threading.current_thread() is threading.main_thread():
        del config.stash[_PREVIOUS_SIGTERM_KEY]
        signal.signal(signal.SIGTERM, previous)


def _profile_path(config: pytest.Config, target: str, out_dir: Path) -> Path:
    if target != "local":
        return Path(target)
    # a fresh staging for every run: an earlier run's is set aside, never started from
    set_previous_state_aside(out_dir / "staging")
    staging = start_local_staging(out_dir / "staging")
    config.stash[_LOCAL_STAGING_KEY] = staging
    return staging.profile_path


def _stop_local(config: pytest.Config) -> None:
    staging = config.stash.get(_LOCAL_STAGING_KEY, None)
    if staging is not None:
        del config.stash[_LOCAL_STAGING_KEY]
        stop_local_staging(staging)
