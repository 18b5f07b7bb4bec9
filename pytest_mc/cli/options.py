"""Click options shared by several `mc-verify` commands."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

CommandFunction = TypeVar("CommandFunction", bound=Callable[..., Any])

PACKAGED_CATALOG_HELP = "QI catalog (default: the packaged frozen catalog)."


def catalog_option(
    help_text: str = PACKAGED_CATALOG_HELP,
) -> Callable[[CommandFunction], CommandFunction]:
    """`--catalog FILE`, passed to the command as `catalog_path` (None: the packaged catalog).

    `help_text` says what the catalog is for in the command at hand.
    """
    return click.option(
        "--catalog",
        "catalog_path",
        type=click.Path(path_type=Path, dir_okay=False),
        default=None,
        help=help_text,
    )
