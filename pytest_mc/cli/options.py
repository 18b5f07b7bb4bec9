"""Click options shared by several `mc-verify` commands."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from pytest_mc.evidence.signing import TRUST_ENV, TrustedKeys, load_trusted_keys

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


def public_key_option() -> Callable[[CommandFunction], CommandFunction]:
    """`--public-key FILE` (repeatable), passed to the command as `trusted`: the `TrustedKeys`
    of every FILE plus every key `$MC_TRUSTED_KEYS` lists (`load_trusted_keys`)."""

    def trust_set(
        context: click.Context, parameter: click.Parameter, files: tuple[Path, ...]
    ) -> TrustedKeys:
        return load_trusted_keys(files)

    return click.option(
        "--public-key",
        "trusted",
        multiple=True,
        type=click.Path(path_type=Path, dir_okay=False),
        callback=trust_set,
        help=f"PEM Ed25519 public key of a signer you trust (repeat it: any one of them may "
        f"have signed); adds to the keys ${TRUST_ENV} lists. Without a trusted key the "
        f"signature is checked but its signer is refused as not authenticated.",
    )
