"""``replace:`` rules: regular expressions rewritten in published text files.

Pure. Patterns are compiled as bytes with ``re.MULTILINE`` (``^`` is the start of a line), so any
encoding round-trips; ``with`` takes ``\\1`` and ``\\g<name>`` references. A rule applies to every
text file, or only to the paths its ``paths`` patterns (gitignore syntax) match.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import pathspec


@dataclass(frozen=True)
class Replacement:
    pattern: str
    text: str
    paths: tuple[str, ...] | None = None  # None: every text file


class ReplaceError(ValueError):
    """A rule that cannot work; ``field`` is ``pattern`` or ``with``."""

    def __init__(self, field: str, problem: str):
        super().__init__(problem)
        self.field = field


def compile_rule(rule: Replacement) -> tuple[re.Pattern[bytes], bytes]:
    """Compile one rule, refusing a bad pattern or a template naming a missing group."""
    try:
        pattern = re.compile(rule.pattern.encode("utf-8"), re.MULTILINE)
    except re.error as e:
        raise ReplaceError("pattern", f"{rule.pattern!r} is not a regular expression: {e}") from e
    template = rule.text.encode("utf-8")
    try:
        pattern.sub(template, b"")  # parses the template, whether or not anything matches
    except (re.error, IndexError) as e:
        raise ReplaceError("with", f"{rule.text!r} is not a valid replacement: {e}") from e
    return pattern, template


@dataclass(frozen=True)
class Replacer:
    rules: tuple[Replacement, ...]
    _compiled: tuple[tuple[re.Pattern[bytes], bytes], ...] = field(compare=False, repr=False)
    _paths: tuple[pathspec.GitIgnoreSpec | None, ...] = field(compare=False, repr=False)

    @classmethod
    def compile(cls, rules: Sequence[Replacement]) -> Replacer:
        compiled = tuple(compile_rule(rule) for rule in rules)
        paths = tuple(
            pathspec.GitIgnoreSpec.from_lines(rule.paths) if rule.paths is not None else None
            for rule in rules
        )
        return cls(tuple(rules), compiled, paths)

    @property
    def position_free(self) -> bool:
        """Whether every rule applies everywhere, so where a file sits does not matter."""
        return all(spec is None for spec in self._paths)

    def rules_for(self, path: bytes) -> tuple[int, ...]:
        """Indices of the rules that apply to ``path``."""
        text = path.decode("utf-8", "surrogateescape")
        return tuple(
            i for i, spec in enumerate(self._paths) if spec is None or spec.match_file(text)
        )

    def matches_none(self, data: bytes, which: Sequence[int]) -> bool:
        """Whether none of the rules ``which`` matches anywhere in ``data`` (so ``apply``
        would return it unchanged)."""
        return all(self._compiled[index][0].search(data) is None for index in which)

    def apply(self, data: bytes, which: Sequence[int]) -> bytes:
        for index in which:
            pattern, template = self._compiled[index]
            data = pattern.sub(template, data)
        return data
