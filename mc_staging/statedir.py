"""The state directory: where every process keeps its files, and how processes are tracked.

Layout: ``admin.token`` (0600), ``signing.key`` (0600), ``ports.json``, ``pids.json``,
``processes.json`` (argv per component, so a crashed region can be restarted), ``profile.yaml``,
``regions/<id>.db``, ``control.db``, ``logs/<component>.log``.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from mc_staging.errors import BadInput, Unreachable


class StateDir:
    """Typed access to one staging's state directory."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root).resolve()

    # paths -------------------------------------------------------------------------------
    @property
    def admin_token_file(self) -> Path:
        return self.root / "admin.token"

    @property
    def signing_key_file(self) -> Path:
        return self.root / "signing.key"

    @property
    def ports_file(self) -> Path:
        return self.root / "ports.json"

    @property
    def pids_file(self) -> Path:
        return self.root / "pids.json"

    @property
    def processes_file(self) -> Path:
        return self.root / "processes.json"

    @property
    def profile_file(self) -> Path:
        return self.root / "profile.yaml"

    @property
    def control_db(self) -> Path:
        return self.root / "control.db"

    @property
    def settings_file(self) -> Path:
        return self.root / "settings.json"

    def region_db(self, region_id: str) -> Path:
        return self.root / "regions" / f"{region_id}.db"

    def log_file(self, component: str) -> Path:
        return self.root / "logs" / f"{component}.log"

    # secrets -----------------------------------------------------------------------------
    def create_secrets(self) -> None:
        for path in (self.admin_token_file, self.signing_key_file):
            if not path.exists():
                _write_private(path, secrets.token_urlsafe(32))

    def admin_secret(self) -> str:
        try:
            return self.admin_token_file.read_text().strip()
        except OSError as exc:
            raise Unreachable(
                f"no staging in {str(self.root)!r}: {self.admin_token_file.name} missing; "
                "run `mc-staging up --state-dir DIR` first"
            ) from exc

    def signing_key(self) -> bytes:
        return self.signing_key_file.read_text().strip().encode()

    # json files --------------------------------------------------------------------------
    def read_json(self, path: Path) -> dict[str, object]:
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError as exc:
            raise Unreachable(
                f"no staging in {str(self.root)!r} ({path.name} missing); "
                "run `mc-staging up --state-dir DIR` first"
            ) from exc
        except (OSError, ValueError) as exc:
            raise BadInput(f"{str(path)!r} is unreadable: {exc}") from exc
        if not isinstance(data, dict):
            raise BadInput(f"{str(path)!r} does not hold a JSON object")
        return data

    def write_json(self, path: Path, data: object) -> None:
        tmp = path.with_suffix(path.suffix + f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True))
        os.replace(tmp, path)

    def ports(self) -> dict[str, int]:
        return {k: int(str(v)) for k, v in self.read_json(self.ports_file).items()}

    def pids(self) -> dict[str, int]:
        if not self.pids_file.exists():
            return {}
        return {k: int(str(v)) for k, v in self.read_json(self.pids_file).items()}

    def set_pid(self, component: str, pid: int | None) -> None:
        """Record (or forget) one component's pid; used by `up` and by region restarts."""
        with _file_lock(self.root / "pids.lock"):
            pids = self.pids()
            if pid is None:
                pids.pop(component, None)
            else:
                pids[component] = pid
            self.write_json(self.pids_file, pids)

    def control_url(self) -> str:
        return f"http://127.0.0.1:{self.ports()['control']}"


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text + "\n")
    os.chmod(path, 0o600)


@contextlib.contextmanager
def _file_lock(path: Path):  # type: ignore[no-untyped-def]
    import fcntl

    with open(path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def spawn(argv: list[str], log_path: Path) -> int:
    """Start one component detached in its own session, logging to ``log_path``; return pid."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    return process.pid


def component_argv(component: str, state_dir: StateDir, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "mc_staging.serve",
        component,
        "--state-dir",
        str(state_dir.root),
        *extra,
    ]


def pid_alive(pid: int) -> bool:
    try:
        waited, _ = os.waitpid(pid, os.WNOHANG)
        if waited == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not _is_zombie(pid)


def _is_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] == "Z"


def stop_pid(pid: int, timeout: float = 5.0) -> bool:
    """SIGTERM then SIGKILL one pid; True once it is gone."""
    if not pid_alive(pid):
        return True
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return True
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return True
        time.sleep(0.05)
    return not pid_alive(pid)
