"""Commit messages on their way out: scrubbed, allow-listed, and checked. Pure, bytes in and out.

Part of the deterministic rewrite: the same message and rules always give the same bytes. Runs
before the Pubgate-Source trailer is added, so no rule can remove or forge that.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

# Review-system trailers that name internal hosts, people and ids (Gerrit, Phabricator).
DEFAULT_SCRUB = (
    r"^Change-Id: I[0-9a-f]{40}[ \t]*\n?",
    r"^Reviewed-on: .*\n?",
    r"^Reviewed-by: .*\n?",
    r"^Tested-by: .*\n?",
    r"^Differential Revision: .*\n?",
    r"^Reviewers?: .*\n?",
    r"^Subscribers: .*\n?",
    r"^Maniphest Tasks: .*\n?",
)


def compile_pattern(text: str) -> re.Pattern[bytes]:
    """A message rule as git sees messages: bytes, ^ and $ at every line."""
    return re.compile(text.encode("utf-8"), re.MULTILINE)


@dataclass(frozen=True)
class MessagePolicy:
    scrub: tuple[re.Pattern[bytes], ...] = ()
    keep_only: tuple[re.Pattern[bytes], ...] = ()
    fallback: bytes = b"Internal change\n"
    forbid: tuple[tuple[str, re.Pattern[bytes]], ...] = ()

    @classmethod
    def compile(
        cls,
        scrub: Sequence[str] = (),
        keep_only: Sequence[str] = (),
        forbid: Sequence[str] = (),
        defaults: bool = True,
        fallback: str = "Internal change",
    ) -> MessagePolicy:
        patterns = [*(DEFAULT_SCRUB if defaults else ()), *scrub]
        return cls(
            scrub=tuple(compile_pattern(p) for p in patterns),
            keep_only=tuple(compile_pattern(p) for p in keep_only),
            fallback=fallback.encode("utf-8").rstrip(b"\n") + b"\n",
            forbid=tuple((p, compile_pattern(p)) for p in forbid),
        )

    def apply(self, message: bytes) -> bytes:
        """The public form of ``message``: the very same bytes when no rule touches it."""
        original = message
        if self.keep_only:
            message = self._kept(message)
        for pattern in self.scrub:
            message = pattern.sub(b"", message)
        return message if message == original else _tidy(message)

    def _kept(self, message: bytes) -> bytes:
        for pattern in self.keep_only:
            match = pattern.search(message)
            if match is None:
                continue
            if "public" in pattern.groupindex:
                return match.group("public")
            return match.group(1) if pattern.groups else match.group(0)
        return self.fallback

    def violation(self, message: bytes) -> str | None:
        """The first ``forbid`` rule the (already public) message still matches."""
        for text, pattern in self.forbid:
            if pattern.search(message):
                return text
        return None


def _tidy(message: bytes) -> bytes:
    """Collapse the blank lines removals leave behind; keep the trailing-newline convention."""
    had_newline = message.endswith(b"\n")
    tidied = re.sub(rb"\n{3,}", b"\n\n", message).strip(b"\n")
    return tidied + b"\n" if had_newline and tidied else tidied
