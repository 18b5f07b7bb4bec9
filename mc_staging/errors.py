"""Errors of the reference staging and the exit code each one maps to.

StagingError            base; exit_code tells the CLI what to exit with
├── BadInput            2: unknown tenant/op-set/tier, malformed file, bad token
├── PolicyRefused       1: a valid request the policy refuses (paused rollout, T2 enact, ...)
└── Unreachable         3: staging not running or not answering

Messages are one line; a value from the caller is shown through `quoted`, cut to about 200
characters, so an error never echoes a whole request body back.
"""

from __future__ import annotations

import reprlib

QUOTE_LIMIT = 200
MAX_MESSAGE = 900

_REPR = reprlib.Repr()
_REPR.maxlevel = 3
_REPR.maxdict = _REPR.maxlist = _REPR.maxtuple = _REPR.maxset = 6
_REPR.maxstring = _REPR.maxother = QUOTE_LIMIT
_REPR.maxlong = 40


def quoted(value: object) -> str:
    """``repr(value)`` for a message, at most about ``QUOTE_LIMIT`` characters."""
    if isinstance(value, str) and len(value) > QUOTE_LIMIT:
        return f"{value[:QUOTE_LIMIT]!r}… ({len(value)} characters)"
    if isinstance(value, int) and value.bit_length() > 128:
        return f"<an integer of {value.bit_length()} bits>"
    text = _REPR.repr(value)
    return text if len(text) <= QUOTE_LIMIT else f"{text[:QUOTE_LIMIT]}…"


class StagingError(Exception):
    """Base class; ``exit_code`` follows the project's exit-code convention."""

    exit_code = 3
    http_status = 500
    kind = "error"

    def __init__(self, message: str) -> None:
        flat = " ".join(message.split()) if "\n" in message or "\r" in message else message
        if len(flat) > MAX_MESSAGE:
            flat = f"{flat[: MAX_MESSAGE * 2 // 3]} … {flat[-(MAX_MESSAGE // 3) :]}"
        super().__init__(flat)
        self.message = flat


class BadInput(StagingError):
    """The caller sent something invalid: exit 2, HTTP 400."""

    exit_code = 2
    http_status = 400
    kind = "bad_input"


class PolicyRefused(StagingError):
    """The request is valid but policy refuses it: exit 1, HTTP 409."""

    exit_code = 1
    http_status = 409
    kind = "refused"


class Unreachable(StagingError):
    """The staging is not running or does not answer: exit 3."""

    exit_code = 3
    http_status = 503
    kind = "unreachable"


ERROR_KINDS: dict[str, type[StagingError]] = {
    BadInput.kind: BadInput,
    PolicyRefused.kind: PolicyRefused,
    Unreachable.kind: Unreachable,
}
