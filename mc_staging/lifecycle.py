"""`up`, `down` and `status`: start every component on free loopback ports, wait until healthy,
write the profile; stop every recorded pid (SIGTERM, then SIGKILL) and verify none is left.
"""

from __future__ import annotations

import contextlib
import time

import httpx

from mc_staging import defects as defect_switches
from mc_staging.errors import BadInput, PolicyRefused, Unreachable
from mc_staging.profile import build_profile, write_profile
from mc_staging.seed import REGIONS, seed_tenants
from mc_staging.statedir import (
    StateDir,
    component_argv,
    free_port,
    pid_alive,
    spawn,
    stop_pid,
)

COMPONENTS = ("control", *[f"region-{r.id}" for r in REGIONS], "glb")


def up(
    state_dir: StateDir,
    time_scale: float,
    sample_interval: float,
    timeout: float = 60.0,
    defects: tuple[str, ...] = (),
) -> dict[str, object]:
    if time_scale <= 0:
        raise BadInput(f"--time-scale must be positive, got {time_scale!r}")
    chosen_defects = defect_switches.validate(defects)
    running = {c: p for c, p in state_dir.pids().items() if pid_alive(p)}
    if running:
        raise PolicyRefused(
            f"a staging is already running in {str(state_dir.root)!r} "
            f"(pids {sorted(running.values())}); `mc-staging down` first"
        )
    state_dir.root.mkdir(parents=True, exist_ok=True)
    (state_dir.root / "logs").mkdir(exist_ok=True)
    state_dir.create_secrets()
    ports: dict[str, int] = {}
    for component in COMPONENTS:
        port = free_port()
        while port in ports.values():
            port = free_port()
        ports[component] = port
    state_dir.write_json(state_dir.ports_file, ports)
    state_dir.write_json(
        state_dir.settings_file,
        {
            "time_scale": time_scale,
            "sample_interval_seconds": sample_interval,
            "defects": list(chosen_defects),
        },
    )
    argv = {
        "control": component_argv("control", state_dir),
        "glb": component_argv("glb", state_dir),
        **{
            f"region-{r.id}": component_argv("region", state_dir, "--region", r.id) for r in REGIONS
        },
    }
    state_dir.write_json(state_dir.processes_file, argv)
    state_dir.write_json(state_dir.pids_file, {})
    for component in COMPONENTS:
        state_dir.set_pid(component, spawn(argv[component], state_dir.log_file(component)))
        if component == "control":
            _wait_healthy(state_dir, ["control"], timeout)
    _wait_healthy(state_dir, list(COMPONENTS), timeout)
    profile = build_profile(state_dir, time_scale, sample_interval, seed_tenants(0.0))
    path = write_profile(state_dir, profile)
    return {
        "profile": str(path),
        "pids": state_dir.pids(),
        "glb_url": profile["glb_url"],
        "control_url": state_dir.control_url(),
        "admin_url": state_dir.control_url(),
        "ports": ports,
        "time_scale": time_scale,
        "state_dir": str(state_dir.root),
        "defects": list(chosen_defects),
    }


def _wait_healthy(state_dir: StateDir, components: list[str], timeout: float) -> None:
    ports = state_dir.ports()
    deadline = time.monotonic() + timeout
    pending = list(components)
    with httpx.Client() as client:
        while pending:
            component = pending[0]
            pid = state_dir.pids().get(component)
            if pid is not None and not pid_alive(pid):
                down(state_dir)
                raise Unreachable(
                    f"{component} exited during startup; see {state_dir.log_file(component)}"
                )
            try:
                response = client.get(f"http://127.0.0.1:{ports[component]}/healthz", timeout=1.0)
                if response.status_code == 200:
                    pending.pop(0)
                    continue
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                down(state_dir)
                raise Unreachable(
                    f"{component} not healthy after {timeout:.0f}s; see "
                    f"{state_dir.log_file(component)}"
                )
            time.sleep(0.1)


def down(state_dir: StateDir) -> dict[str, object]:
    pids = state_dir.pids()
    stopped: dict[str, int] = {}
    left: dict[str, int] = {}
    # control first, so it cannot restart a region while we stop them
    for component in sorted(pids, key=lambda c: (c != "control", c)):
        pid = pids[component]
        if stop_pid(pid):
            stopped[component] = pid
        else:
            left[component] = pid
    if left:
        raise Unreachable(f"could not stop {left}; kill them by pid")
    state_dir.write_json(state_dir.pids_file, {})
    return {"stopped": stopped, "left": left}


def status(state_dir: StateDir) -> dict[str, object]:
    ports = state_dir.ports()
    pids = state_dir.pids()
    components: dict[str, object] = {}
    with httpx.Client() as client:
        for component, port in ports.items():
            pid = pids.get(component)
            healthy = False
            with contextlib.suppress(httpx.HTTPError):
                healthy = (
                    client.get(f"http://127.0.0.1:{port}/healthz", timeout=1.0).status_code == 200
                )
            components[component] = {
                "pid": pid,
                "alive": pid is not None and pid_alive(pid),
                "port": port,
                "healthy": healthy,
            }
    return {
        "state_dir": str(state_dir.root),
        "profile": str(state_dir.profile_file),
        "components": components,
        "defects": sorted(defect_switches.active(state_dir)),
        "healthy": all(bool(dict(c).get("healthy")) for c in components.values()),
    }  # type: ignore[call-overload]
