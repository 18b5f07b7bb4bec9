"""Redaction of secrets at the recording boundary (DESIGN §7).

Everything that enters the evidence chain or the artifact store passes through a
`Redactor`: known secret values (admin secrets, approval tokens) registered at run time,
plus patterns that look like credentials, are replaced by `[REDACTED]`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

REDACTED = "[REDACTED]"
_MIN_SECRET_LENGTH = 6

_SECRET_FLAGS = re.compile(r"(?i)^--?(?:approval-token|admin-token|token|secret|password)$")

_PATTERNS = (
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]{8,}"),
    re.compile(
        r"(?i)((?:approval[-_]?token|admin[-_]?token|token|secret|password|api[-_]?key)"
        r"[\"']?\s*[:=]\s*[\"']?)[^\s\"',;&]{6,}"
    ),
    re.compile(r"(?i)(--(?:approval-token|admin-token|token|secret)[ =])\S+"),
)


# The characters of a token-shaped secret (approval tokens, API keys, hex and base64 digests).
# Any occurrence of such a secret lies inside one run of them, so runs are found by one
# regular expression and each is looked up in a set: the cost of redacting a text does not
# grow with the number of such secrets (a campaign registers thousands of approval tokens).
_TOKEN_CHARS = r"A-Za-z0-9._~+/=:-"
_TOKEN_SHAPED = re.compile(rf"[{_TOKEN_CHARS}]+")


class Redactor:
    """Replaces registered secret values and credential-shaped text."""

    def __init__(self, secrets: tuple[str, ...] = ()) -> None:
        self._token_secrets: set[str] = set()
        self._lengths: list[int] = []  # the token secrets' distinct lengths, longest first
        self._runs: re.Pattern[str] | None = None  # runs at least as long as the shortest
        self._other: list[str] = []  # secrets with other characters (rare), longest first
        for secret in secrets:
            self.register(secret)

    def register(self, secret: str) -> None:
        """Never record `secret` from now on (too-short values would redact ordinary text)."""
        secret = secret.strip()
        if len(secret) < _MIN_SECRET_LENGTH:
            return
        if _TOKEN_SHAPED.fullmatch(secret) is None:
            if secret not in self._other:
                self._other.append(secret)
                self._other.sort(key=len, reverse=True)
            return
        if secret in self._token_secrets:
            return
        self._token_secrets.add(secret)
        if len(secret) not in self._lengths:
            self._lengths.append(len(secret))
            self._lengths.sort(reverse=True)
            self._runs = re.compile(rf"[{_TOKEN_CHARS}]{{{self._lengths[-1]},}}")

    def text(self, value: str) -> str:
        # Secrets with other characters first: one of them may contain a token secret.
        for secret in self._other:
            value = value.replace(secret, REDACTED)
        if self._runs is not None:
            value = self._runs.sub(self._redact_run, value)
        for pattern in _PATTERNS:
            value = pattern.sub(lambda match: match.group(1) + REDACTED, value)
        return value

    def _redact_run(self, match: re.Match[str]) -> str:
        """Every token secret inside one run, leftmost first and the longest at a position,
        so a secret containing another is removed whole."""
        run = match.group(0)
        pieces: list[str] = []
        kept = at = 0
        end = len(run)
        while at < end:
            for length in self._lengths:
                if at + length <= end and run[at : at + length] in self._token_secrets:
                    pieces += (run[kept:at], REDACTED)
                    at = kept = at + length
                    break
            else:
                at += 1
        if not pieces:
            return run
        pieces.append(run[kept:])
        return "".join(pieces)

    def argv(self, args: Sequence[str]) -> tuple[str, ...]:
        """Redact a command line: the value after a secret-bearing flag is dropped whole."""
        out: list[str] = []
        for index, arg in enumerate(args):
            follows_flag = index > 0 and _SECRET_FLAGS.match(args[index - 1]) is not None
            out.append(REDACTED if follows_flag else self.text(arg))
        return tuple(out)

    def json(self, value: object) -> object:
        """Redact every string inside a JSON-shaped value (keys included)."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self.json(item) for item in value]
        if isinstance(value, dict):
            return {self.text(str(key)): self.json(item) for key, item in value.items()}
        return value

    def data(self, content: bytes) -> bytes:
        """Redact an artifact's bytes when they are text; binary content is kept as is."""
        try:
            decoded = content.decode("utf-8")
        except UnicodeDecodeError:
            return content
        return self.text(decoded).encode("utf-8")
