"""The safety fence: the one rule for every change the suite makes to a target.

A change (a rollout or GLB command, a flag, a fault, a DR failover or drill, an ops replay,
an autonomy command, load or writes on the data plane) is allowed only against a profile whose
`environment` is `staging` and whose every URL host is in `allowed_hosts`. Reads are not
fenced: verifying a production target read-only is legitimate. The drivers call
`require_change_allowed` at the lowest layer each change passes through (docs/target-profile.md).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from pytest_mc.errors import UnsafeTargetError
from pytest_mc.target.profile import TargetProfile

CHANGE_ENVIRONMENT = "staging"


def host_of(url: str) -> str:
    """The host a URL names ('' when it names none), as `allowed_hosts` lists hosts."""
    return urlsplit(url).hostname or ""


def change_refusal(profile: TargetProfile, *, what: str) -> str | None:
    """Why `what` may not change this target, or None when the fence lets it through."""
    if profile.environment != CHANGE_ENVIRONMENT:
        return (
            f"refused to run {what} against target {profile.name!r}: environment is "
            f"{profile.environment!r}, not {CHANGE_ENVIRONMENT!r}; use a staging profile as the "
            "target (only reads run against any other environment)"
        )
    for field, url in profile.urls():
        host = host_of(url)
        if host not in profile.allowed_hosts:
            return (
                f"refused to run {what} against target {profile.name!r}: {field} host {host!r} "
                f"is not in allowed_hosts {list(profile.allowed_hosts)}; add it only if it is "
                "a staging host"
            )
    return None


def require_change_allowed(profile: TargetProfile, *, what: str) -> None:
    """Raise `UnsafeTargetError` (exit 3) unless `what`, a change, may run against `profile`."""
    refusal = change_refusal(profile, what=what)
    if refusal is not None:
        raise UnsafeTargetError(refusal)
