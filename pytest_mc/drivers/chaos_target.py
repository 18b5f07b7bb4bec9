"""Pointing an experiment at a target: file lookup, configuration, admin secret, host fences.

Everything here comes from the target profile, so `chaos/` experiments stay target-neutral:
the profile supplies `admin_url`, `glb_url`, region urls and the admin secret's location.
The admin (fault) API exists to change the target: its secret is handed out only behind the
safety fence, and `FaultApi` is the fenced way for a driver to inject and remove faults.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

from pytest_mc.chaos_providers import inject_fault, remove_faults
from pytest_mc.drivers.chaos_models import ConfigValue, ExperimentInfo
from pytest_mc.errors import InputError, ProfileError, UnsafeTargetError
from pytest_mc.paths import project_dir
from pytest_mc.target.fence import host_of, require_change_allowed
from pytest_mc.target.profile import TargetProfile


def experiment_path(profile: TargetProfile, experiment: str | Path) -> Path:
    """A file path as is; a bare name (`region-outage`) from the profile's or project's chaos/."""
    candidate = Path(experiment)
    if candidate.suffix in (".json", ".yaml", ".yml") or candidate.is_file():
        return candidate
    base = profile.chaos.experiments_dir or project_dir("chaos")
    return base / f"{experiment}.json"


def target_configuration(
    profile: TargetProfile,
    info: ExperimentInfo,
    *,
    tenant: str | None,
    region: str | None,
    overrides: Mapping[str, ConfigValue],
) -> dict[str, ConfigValue]:
    """The experiment's configuration for this target: URLs, tenant and region from the profile."""
    if profile.admin is None:
        raise ProfileError(
            f"profile {profile.name!r} has no admin section; chaos experiments need the fault API"
        )
    unknown = sorted(set(overrides) - set(info.configuration_keys))
    if unknown:
        raise InputError(
            f"configuration {unknown} unknown to experiment {str(info.path)!r}; it declares "
            f"{list(info.configuration_keys)}"
        )
    values: dict[str, ConfigValue] = {"admin_url": profile.admin.url, "glb_url": profile.glb_url}
    if tenant is not None:
        try:
            profile.tenant(tenant)
        except KeyError as exc:
            raise InputError(str(exc.args[0])) from None
        values["tenant"] = tenant
    if region is not None:
        values["region"] = region
    if "region_url" in info.configuration_keys:
        region_id = region or _declared_default(info.path, "region")
        urls = {r.id: r.url for r in profile.regions}
        if not urls.get(region_id or ""):
            raise InputError(
                f"experiment {info.path.name} needs the url of region {region_id!r}, which the "
                f"profile does not give (regions: {sorted(urls)})"
            )
        values["region_url"] = str(urls[region_id or ""])
    values.update(overrides)
    return {key: value for key, value in values.items() if key in info.configuration_keys}


def _declared_default(path: Path, key: str) -> str | None:
    declared = json.loads(path.read_text(encoding="utf-8")).get("configuration", {}).get(key)
    if isinstance(declared, dict):
        return os.environ.get(str(declared.get("key")), declared.get("default"))
    return declared if isinstance(declared, str) else None


def admin_secret(profile: TargetProfile) -> str:
    """The admin secret from the profile's token file or env var (never stored in it).

    Only behind the fence: the admin API changes the target, so a profile that is not a
    staging inside its allowed_hosts never gets its secret read (`UnsafeTargetError`)."""
    require_change_allowed(profile, what="the admin (fault) API")
    admin = profile.admin
    if admin is not None and admin.token_file is not None:
        try:
            return admin.token_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ProfileError(
                f"admin.token_file {str(admin.token_file)!r} unreadable ({exc.strerror}); "
                f"check the profile of target {profile.name!r}"
            ) from None
    if admin is not None and admin.token_env and os.environ.get(admin.token_env):
        return os.environ[admin.token_env].strip()
    raise ProfileError(
        f"profile {profile.name!r} names no admin secret (admin.token_file or admin.token_env)"
    )


def check_hosts(profile: TargetProfile, configuration: Mapping[str, ConfigValue]) -> None:
    for key, value in configuration.items():
        if isinstance(value, str) and value.startswith(("http://", "https://")):
            host = host_of(value)
            if host not in profile.allowed_hosts:
                raise UnsafeTargetError(
                    f"refused to run chaos against {value!r} (configuration {key}): host "
                    f"{host!r} is not in allowed_hosts {list(profile.allowed_hosts)}"
                )


class FaultApi:
    """The target's fault API for drivers, every injection and removal behind the fence."""

    def __init__(self, profile: TargetProfile) -> None:
        if profile.admin is None:
            raise ProfileError(
                f"profile {profile.name!r} has no admin section; faults need the fault API"
            )
        self.profile = profile
        self.admin_url = profile.admin.url
        self._secrets: dict[str, str] | None = None

    def _admin_secrets(self, what: str) -> dict[str, str]:
        require_change_allowed(self.profile, what=what)
        if self._secrets is None:
            self._secrets = {"admin_token": admin_secret(self.profile)}
        return self._secrets

    def inject(
        self,
        kind: str,
        *,
        tenant: str | None = None,
        region: str | None = None,
        params: Mapping[str, object] | None = None,
    ) -> dict[str, object]:
        """`POST /admin/faults`: the fault as the target recorded it."""
        secrets = self._admin_secrets(f"fault injection {kind!r}")
        return inject_fault(
            self.admin_url, kind, tenant=tenant, region=region, params=params, secrets=secrets
        )

    def remove(
        self, kind: str, *, tenant: str | None = None, region: str | None = None
    ) -> dict[str, object]:
        """Remove every active fault of `kind` in this scope (idempotent)."""
        secrets = self._admin_secrets(f"fault removal {kind!r}")
        return remove_faults(self.admin_url, kind, tenant=tenant, region=region, secrets=secrets)
