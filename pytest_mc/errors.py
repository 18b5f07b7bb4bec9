"""The one exception tree of pytest-mc, and the exit code each branch maps to.

    McError                      base; never raised directly
    ├── InputError          (2)  bad usage or bad input a user can fix
    │   ├── ProfileError         target profile unreadable or invalid
    │   ├── CatalogError         QI catalog unreadable, invalid or tampered with
    │   │   └── UnknownQiError   a QI id that the catalog does not define
    │   └── BundleError          evidence bundle or chain unreadable, invalid or tampered with
    ├── TargetError         (3)  the environment or target is not usable
    │   ├── ToolMissingError     an external tool (k6, chaos, ...) cannot be found
    │   ├── UnreachableError     the target does not answer
    │   └── UnsafeTargetError    refused: a change to a target whose profile is not a
    │                            staging, or has a host outside allowed_hosts (DESIGN §9)
    └── ReleaseFailed       (1)  the release failed a gate or a DoD item

Messages say what failed, the offending value, where (file:line, field, tenant) and what to
do next, on one line: the CLI prints them as they are, never with a traceback. An
`InputError` message is kept to one line of at most `MAX_MESSAGE` characters whatever it
quotes (a long middle is cut, so the "what to do" at its end survives).
"""

from __future__ import annotations

from typing import ClassVar

MAX_MESSAGE = 900
"""Longest `InputError` message; with the CLI's `error: ` it stays under 1,000 characters."""


class McError(Exception):
    """Base of every error pytest-mc raises on purpose."""

    exit_code: ClassVar[int] = 2


class InputError(McError):
    """Bad usage or bad input: exit code 2."""

    exit_code = 2

    def __init__(self, message: str) -> None:
        super().__init__(one_line(message))


def one_line(message: str, limit: int = MAX_MESSAGE) -> str:
    """`message` on one line of at most `limit` characters, its middle cut if it was longer."""
    flat = " ".join(message.split()) if "\n" in message or "\r" in message else message
    if len(flat) <= limit:
        return flat
    keep_tail = limit // 3
    keep_head = limit - keep_tail - 3
    return f"{flat[:keep_head]} … {flat[-keep_tail:]}"


class ProfileError(InputError):
    """The target profile cannot be read or does not validate."""


class CatalogError(InputError):
    """The QI catalog cannot be read, does not validate, or changed under a frozen version."""


class UnknownQiError(CatalogError):
    """A QI id that the catalog does not define."""


class BundleError(InputError):
    """An evidence bundle, chain or signature cannot be read, does not validate or was altered."""


class TargetError(McError):
    """The environment or the target cannot be used: exit code 3."""

    exit_code = 3


class ToolMissingError(TargetError):
    """An external tool (k6, chaos, allure, prometheus) cannot be found."""


class UnreachableError(TargetError):
    """The target (control CLI, GLB, metrics) does not answer."""


class UnsafeTargetError(TargetError):
    """Refused to run something destructive against this target."""


class ReleaseFailed(McError):
    """The release failed a validation gate or a DoD item: exit code 1."""

    exit_code = 1
