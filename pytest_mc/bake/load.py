"""Background k6 load for a bake: bounded segments that can be stopped on request.

Each segment is one k6 run (through the k6 driver and its one tool runner) covering a whole
number of slices plus a short tail, so traffic never pauses at a slice boundary. k6 listens
on its REST API at a free loopback port; `stop` asks it to end through that API, which makes
k6 write its summary and exit (code 103) within a second. A bake killed with SIGKILL leaves
at most one segment running until its own bound (at least a minute of wall time, or one
slice when slices are longer).
"""

from __future__ import annotations

import contextlib
import socket
import threading
from pathlib import Path

import httpx

from pytest_mc.drivers.k6 import K6Driver, K6RunError
from pytest_mc.drivers.k6_models import UNIQUE_KEYS, K6Load, K6Result
from pytest_mc.drivers.runner import ToolRunner
from pytest_mc.policy.catalog import QiCatalog
from pytest_mc.target.profile import TargetProfile

MIN_SEGMENT_WALL_SECONDS = 60.0
TAIL_WALL_SECONDS = 2.0
BAKE_VUS = 2
_STOPPED = {"stopped": True}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Segment:
    """One k6 run in a background thread; joined (and recorded) from the main thread."""

    def __init__(
        self, driver: K6Driver, tenant: str, load: K6Load, work_dir: Path, run_id: str
    ) -> None:
        self.tenant = tenant
        self.run_id = run_id
        self.load = load
        self.summary_path = work_dir / f"k6-summary-{tenant}-{run_id}.json"
        self.report_path = work_dir / f"k6-report-{tenant}-{run_id}.html"
        # k6's REST API on a free loopback port: `stop` ends the run through it
        self.port = free_port()
        self._driver = driver.with_api(f"127.0.0.1:{self.port}")
        self.result: K6Result | None = None
        self.error: BaseException | None = None
        self.stopped = False
        self._thread = threading.Thread(
            target=self._run, args=(work_dir,), name=f"bake-k6-{run_id}", daemon=True
        )
        self._thread.start()

    def _run(self, work_dir: Path) -> None:
        try:
            self.result = self._driver.run(
                self.tenant, self.load, work_dir=work_dir, run_id=self.run_id
            )
        except BaseException as exc:  # handed to the main thread, never lost here
            self.error = exc

    @property
    def done(self) -> bool:
        return not self._thread.is_alive()

    def stop(self, timeout: float = 30.0) -> None:
        """Ask k6 to end now (REST API), then wait for the run to finish."""
        if not self.done:
            self.stopped = True
            # k6 not listening yet or already gone: the join below bounds the wait
            with contextlib.suppress(httpx.HTTPError):
                httpx.patch(
                    f"http://127.0.0.1:{self.port}/v1/status",
                    json={"data": {"type": "status", "id": "default", "attributes": _STOPPED}},
                    timeout=5.0,
                )
        self.join(timeout)

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)

    def stopped_early(self) -> bool:
        """The run ended because `stop` asked it to (k6 exits 103 then), not by itself."""
        return self.stopped and isinstance(self.error, K6RunError)


class BakeLoad:
    """Keeps k6 traffic on one tenant for the slices of a bake."""

    def __init__(
        self,
        profile: TargetProfile,
        catalog: QiCatalog,
        tenant: str,
        *,
        work_dir: Path,
        runner: ToolRunner,
        vus: int = BAKE_VUS,
    ) -> None:
        self.profile = profile
        self.tenant = tenant
        self.work_dir = work_dir
        self.vus = vus
        self.driver = K6Driver(profile, catalog, runner=runner)
        self.current: Segment | None = None
        self._draining: list[Segment] = []
        self._covers_until = -1

    def segment_slices(self, slice_wall_seconds: float) -> int:
        return max(1, int(-(-MIN_SEGMENT_WALL_SECONDS // slice_wall_seconds)))

    def ensure(
        self, slice_index: int, slices_left: int, slice_wall_seconds: float, run_id: str
    ) -> list[Segment]:
        """Start a segment at `slice_index` unless the running one covers it; returns the
        segments that have finished since, for the caller to record (never blocks)."""
        if self.current is not None and (self.current.done or slice_index > self._covers_until):
            self._draining.append(self.current)  # its tail overlaps the next segment's start
            self.current = None
        if self.current is None:
            count = min(self.segment_slices(slice_wall_seconds), slices_left)
            load = K6Load(
                vus=self.vus,
                duration_seconds=count * slice_wall_seconds + TAIL_WALL_SECONDS,
                keys=UNIQUE_KEYS,  # an A/A tenant at GA: the load itself never conflicts
            )
            self.current = Segment(
                self.driver, self.tenant, load, self.work_dir, f"{run_id}-s{slice_index}"
            )
            self._covers_until = slice_index + count - 1
        return self.finished()

    def finished(self) -> list[Segment]:
        """Segments that ended and have not been handed out yet."""
        done = [segment for segment in self._draining if segment.done]
        self._draining = [segment for segment in self._draining if not segment.done]
        return done

    def stop(self) -> list[Segment]:
        """Stop every running segment and hand them back for recording."""
        segments = self._draining + ([self.current] if self.current is not None else [])
        self.current, self._draining = None, []
        for segment in segments:
            segment.stop()
        return segments
