"""High-confidence secrets in file contents: private keys, cloud keys, prefixed tokens.

Pure: bytes in, findings out. Only formats whose shape alone says "secret" are looked for
(a documented prefix, a PEM private key block with a body), so a finding is worth stopping a
sync for. One C-level search for every prefix at once lets the ~all blobs that hold none skip
the per-kind patterns.

A finding never carries the secret: only its kind, line and a fingerprint (a truncated SHA-256
of kind and value) that ``secrets.allow`` accepts for a known false positive.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass

# (kind, pattern); group "secret" (or the whole match) is what the fingerprint is taken of.
_KINDS: tuple[tuple[str, bytes], ...] = (
    (
        "private key",
        rb"-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?-----"
        rb"\r?\n(?:[A-Za-z0-9-]+: [^\r\n]*\r?\n)*(?:\r?\n)?(?P<secret>[A-Za-z0-9+/=]{40,})",
    ),
    (
        "GCP service-account key",
        rb'"private_key"\s*:\s*"-----BEGIN (?:RSA )?PRIVATE KEY-----\\n'
        rb"(?P<secret>[A-Za-z0-9+/=]{40,})",
    ),
    (
        "AWS access key id",
        rb"(?<![A-Z0-9])(?P<secret>(?:AKIA|ASIA)(?!IOSFODNN7EXAMPLE)[A-Z0-9]{16})(?![A-Z0-9])",
    ),
    (
        "AWS secret access key",
        rb"(?i:aws_?secret_?(?:access_?)?key)[\"']?\s*[:=]\s*[\"']?"
        rb"(?P<secret>(?!wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY)[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+])",
    ),
    ("GitHub token", rb"(?<![A-Za-z0-9_])(?P<secret>gh[pousr]_[A-Za-z0-9]{36,255})"),
    ("GitHub token", rb"(?<![A-Za-z0-9_])(?P<secret>github_pat_[A-Za-z0-9_]{50,255})"),
    ("GitLab token", rb"(?<![A-Za-z0-9_])(?P<secret>glpat-[A-Za-z0-9_-]{20,})"),
    ("PyPI token", rb"(?<![A-Za-z0-9_])(?P<secret>pypi-AgE[A-Za-z0-9_-]{50,})"),
    ("Slack token", rb"(?<![A-Za-z0-9_])(?P<secret>xox[abprs]-[A-Za-z0-9-]{10,})"),
    ("npm token", rb"(?<![A-Za-z0-9_])(?P<secret>npm_[A-Za-z0-9]{36})(?![A-Za-z0-9])"),
)
# Literal starts of every kind above: a blob without one of them holds no finding.
_PREFIXES = (
    rb"-----BEGIN |\"private_key\"|AKIA|ASIA|(?i:aws_?secret)|gh[pousr]_|github_pat_|glpat-|"
    rb"pypi-AgE|xox[abprs]-|npm_"
)
# The same, fast: re gives up its first-character skip for an alternation with a
# case-insensitive branch (3.3x slower on sympy's blobs, 52 against 169 MB/s), so that branch
# is looked for as a lowercase word in the lowercased bytes (bytes.lower runs at ~1 GB/s).
_CASED_PREFIXES = _PREFIXES.replace(rb"|(?i:aws_?secret)", b"")
_FOLDED_WORDS = (b"secret",)
# Values shorter than this are not taken as tokens: they would match everywhere.
MIN_TOKEN_LENGTH = 8


@dataclass(frozen=True)
class Finding:
    kind: str
    line: int
    fingerprint: str


def fingerprint(kind: str, secret: bytes) -> str:
    return hashlib.sha256(kind.encode() + b"\0" + secret).hexdigest()[:20]


class SecretScanner:
    """Compiled once per run: the built-in kinds plus the values of the configured tokens."""

    def __init__(self, tokens: Iterable[tuple[str, str]] = (), allow: Iterable[str] = ()):
        self._allow = frozenset(allow)
        self._kinds = [(kind, re.compile(pattern)) for kind, pattern in _KINDS]
        prefixes = [_PREFIXES]
        for name, value in tokens:
            raw = value.strip().encode()
            if len(raw) >= MIN_TOKEN_LENGTH:
                kind = f"the value of ${name}"
                self._kinds.append((kind, re.compile(b"(?P<secret>" + re.escape(raw) + b")")))
                prefixes.append(re.escape(raw))
        self._prefilter = re.compile(b"|".join(prefixes))
        self._cased = re.compile(b"|".join([_CASED_PREFIXES, *prefixes[1:]]))

    @property
    def prefilter(self) -> re.Pattern[bytes]:
        """Matches somewhere in every blob ``scan`` finds anything in (one expression, for
        whoever needs the strings a secret must hold; ``may_hold`` answers faster)."""
        return self._prefilter

    @property
    def cased_prefilter(self) -> re.Pattern[bytes]:
        """``prefilter`` without its case-insensitive part, which ``folded_words`` stand for."""
        return self._cased

    @staticmethod
    def folded_words() -> tuple[bytes, ...]:
        """Lowercase words, one of which the lowercased bytes of a blob hold whenever
        ``prefilter`` matches there and ``cased_prefilter`` does not."""
        return _FOLDED_WORDS

    def may_hold(self, data: bytes) -> bool:
        """Whether ``prefilter`` could match in ``data``: never False where it matches."""
        if self._cased.search(data) is not None:
            return True
        return has_folded_word(data, _FOLDED_WORDS)

    def scan(self, data: bytes) -> list[Finding]:
        """Every finding in ``data`` that ``secrets.allow`` does not accept, first line first."""
        if not self.may_hold(data):
            return []
        found: list[Finding] = []
        for kind, pattern in self._kinds:
            for match in pattern.finditer(data):
                secret = match.group("secret")
                mark = fingerprint(kind, secret)
                if mark in self._allow:
                    continue
                line = data.count(b"\n", 0, match.start()) + 1
                found.append(Finding(kind, line, mark))
        found.sort(key=lambda f: f.line)
        return found


def has_folded_word(data: bytes, words: tuple[bytes, ...]) -> bool:
    """Whether the ASCII-lowercased ``data`` holds one of the lowercase ``words``."""
    if not words:
        return False
    lowered = data.lower()
    return any(word in lowered for word in words)
