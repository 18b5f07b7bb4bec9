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


class Redactor:
    """Replaces registered secret values and credential-shaped text."""

    def __init__(self, secrets: tuple[str, ...] = ()) -> None:
        self._secrets: set[str] = set()
        for secret in secrets:
            self.register(secret)

    def register(self, secret: str) -> None:
        """Never record `secret` from now on (too-short values would redact ordinary text)."""
        secret = secret.strip()
        if len(secret) >= _MIN_SECRET_LENGTH:
            self._secrets.add(secret)

    def text(self, value: str) -> str:
        # Longest first, so a secret containing another is removed whole.
        for secret in sorted(self._secrets, key=len, reverse=True):
            value = value.replace(secret, REDACTED)
        for pattern in _PATTERNS:
            value = pattern.sub(lambda match: match.group(1) + REDACTED, value)
        return value

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
