"""Errors of the reference staging and the exit code each one maps to.

StagingError            base; exit_code tells the CLI what to exit with
├── BadInput            2: unknown tenant/op-set/tier, malformed file, bad token
├── PolicyRefused       1: a valid request the policy refuses (paused rollout, T2 enact, ...)
└── Unreachable         3: staging not running or not answering
"""

from __future__ import annotations


class StagingError(Exception):
    """Base class; ``exit_code`` follows the project's exit-code convention."""

    exit_code = 3
    http_status = 500
    kind = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


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
