"""Helpers for the policy tests: editable copies of the packaged QI catalog under tmp_path."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from pytest_mc.policy.catalog import DEFAULT_CATALOG_PATH

CatalogCopy = Callable[..., Path]


@pytest.fixture
def catalog_copy(tmp_path: Path) -> CatalogCopy:
    """Write the packaged catalog to tmp_path, optionally edited by a function of its data."""

    def make(
        edit: Callable[[dict[str, object]], None] | None = None, name: str = "qi.yaml"
    ) -> Path:
        data = yaml.safe_load(DEFAULT_CATALOG_PATH.read_text(encoding="utf-8"))
        if edit is not None:
            edit(data)
        path = tmp_path / name
        path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        return path

    return make
