"""Version maths: Conventional Commits -> a bump level -> the next PEP 440 version.

Pure. Follows what users of commitizen and python-semantic-release expect: ``feat`` is a minor
bump, ``fix`` and ``perf`` a patch, ``!`` or a ``BREAKING CHANGE:`` footer a major one (a minor one
while the major is 0, unless ``major_on_zero``); a ``Release-As: X.Y.Z`` footer names the version.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass

from packaging.version import InvalidVersion, Version

from .errors import PubgateError


class Level(enum.IntEnum):
    OTHER = 0
    PATCH = 1
    MINOR = 2
    MAJOR = 3


# Changelog groups, in the order they are listed.
GROUPS = {Level.MAJOR: "Breaking", Level.MINOR: "Features", Level.PATCH: "Fixes"}
OTHER_GROUP = "Other"

_HEADER = re.compile(
    r"^(?P<type>[A-Za-z]+)(?:\((?P<scope>[^()\r\n]*)\))?(?P<bang>!)?: +(?P<text>.+)$"
)
_BREAKING = re.compile(r"^BREAKING[ -]CHANGE: ", re.M)
_RELEASE_AS = re.compile(r"^Release-As:[ \t]*(\S+)[ \t]*$", re.M | re.I)
_TYPES = {"feat": Level.MINOR, "fix": Level.PATCH, "perf": Level.PATCH}


def parse_version(text: str) -> Version:
    """A PEP 440 version from PEP 440 or SemVer spelling (``1.0.0-rc.1`` -> ``1.0.0rc1``)."""
    try:
        return Version(text.strip())
    except InvalidVersion as e:
        raise PubgateError(
            f"{text.strip()!r} is not a version",
            "write PEP 440 (1.2.0, 1.2.0rc1) or SemVer (1.2.0-rc.1)",
        ) from e


def maybe_version(text: str) -> Version | None:
    try:
        return Version(text.strip())
    except InvalidVersion:
        return None


@dataclass(frozen=True)
class Change:
    """One published commit as a release sees it."""

    commit: str  # the public id
    subject: str  # the subject without its Conventional Commits prefix
    scope: str | None
    level: Level
    release_as: Version | None = None

    @property
    def group(self) -> str:
        return GROUPS.get(self.level, OTHER_GROUP)


def classify(commit: str, message: str) -> Change:
    """Read one public commit message the way Conventional Commits define it."""
    subject = message.split("\n", 1)[0].strip()
    header = _HEADER.match(subject)
    level = Level.OTHER
    scope = None
    text = subject
    if header:
        text = header["text"].strip()
        scope = (header["scope"] or "").strip() or None
        level = _TYPES.get(header["type"].lower(), Level.OTHER)
        if header["bang"]:
            level = Level.MAJOR
    if _BREAKING.search(message):
        level = Level.MAJOR
    release_as = None
    found = _RELEASE_AS.findall(message)
    if found:
        release_as = parse_version(found[-1])
    return Change(commit, text, scope, level, release_as)


@dataclass(frozen=True)
class Decision:
    """The next version and why.

    Attributes:
        reason: one line, e.g. "minor: 2 features (abc1234, def5678)" or "Release-As in abc1234".
        drivers: the commits that decided it.
    """

    version: Version
    reason: str
    drivers: tuple[Change, ...] = ()


def bump(version: Version, level: Level) -> tuple[int, int, int]:
    major, minor, patch = _triple(version)
    if level is Level.MAJOR:
        return major + 1, 0, 0
    if level is Level.MINOR:
        return major, minor + 1, 0
    return major, minor, patch + 1


def _triple(version: Version) -> tuple[int, int, int]:
    parts = (*version.release, 0, 0)
    return parts[0], parts[1], parts[2]


def _carried(base: tuple[int, int, int]) -> Level:
    """The bump a pre-release's base already carries: 1.2.0rc1 is a minor step, 2.0.0rc1 major."""
    if base[2]:
        return Level.PATCH
    if base[1]:
        return Level.MINOR
    return Level.MAJOR


def _spell(epoch: int, base: tuple[int, int, int], pre: tuple[str, int] | None) -> Version:
    text = ".".join(map(str, base))
    if pre:
        text += f"{pre[0]}{pre[1]}"
    if epoch:
        text = f"{epoch}!{text}"
    return Version(text)


def next_version(
    previous: Version, level: Level, *, prerelease: str | None = None, major_on_zero: bool = False
) -> Version:
    """The version after ``previous`` for a change of ``level``.

    A pre-release moves on (``1.2.0rc1`` -> ``1.2.0rc2``) while the changes fit the step it
    already carries; without ``prerelease`` the same step finalises it (``1.2.0rc2`` -> ``1.2.0``).
    """
    if level is Level.MAJOR and previous.major == 0 and not major_on_zero:
        level = Level.MINOR
    level = max(level, Level.PATCH)
    base = _triple(previous)
    unfinished = previous.is_prerelease  # also .devN: a version not yet released
    target = base if unfinished and level <= _carried(base) else bump(previous, level)
    if prerelease is None:
        return _spell(previous.epoch, target, None)
    if unfinished and target == base and previous.pre is not None:
        letter, number = previous.pre
        if letter == prerelease:
            return _spell(previous.epoch, target, (prerelease, number + 1))
    return _spell(previous.epoch, target, (prerelease, 1))


def decide(
    previous: Version,
    changes: Sequence[Change],
    *,
    bump_mode: str,
    prerelease: str | None,
    major_on_zero: bool,
    declared: Version | None,
    command_line: bool,
) -> Decision:
    """Choose the next version from the published changes.

    Args:
        bump_mode: auto, major, minor, patch or none.
        declared: the version the source declares (what ``none`` takes).
        command_line: the mode came from ``--bump``, which outranks ``Release-As`` footers.
    """
    forced = [c for c in changes if c.release_as is not None]
    if forced and not command_line:
        chosen = max(forced, key=lambda c: c.release_as or previous)
        assert chosen.release_as is not None
        return Decision(chosen.release_as, f"Release-As in {chosen.commit[:7]}", (chosen,))
    if bump_mode == "none":
        if declared is None:
            raise PubgateError(
                "version.bump is none, but the source declares no version",
                "declare one in the version files, or choose another bump",
            )
        return Decision(declared, "the version the source declares (bump: none)")
    if bump_mode != "auto":
        level = Level[bump_mode.upper()]
        how = "--bump" if command_line else "version.bump"
        version = next_version(previous, level, prerelease=prerelease, major_on_zero=major_on_zero)
        return Decision(version, f"{bump_mode} ({how} {bump_mode})")
    level = max((c.level for c in changes), default=Level.OTHER)
    drivers = tuple(c for c in changes if c.level == level and level is not Level.OTHER)
    version = next_version(previous, level, prerelease=prerelease, major_on_zero=major_on_zero)
    if level is Level.OTHER:
        return Decision(version, "patch: no feat, fix, perf or breaking commit among them")
    effective = _name_of_step(previous, version)
    kinds = {Level.MAJOR: "breaking change", Level.MINOR: "feature", Level.PATCH: "fix"}
    noun = kinds[level] + ("s" if len(drivers) != 1 else "")
    ids = ", ".join(c.commit[:7] for c in drivers[:5]) + (", ..." if len(drivers) > 5 else "")
    return Decision(version, f"{effective}: {len(drivers)} {noun} ({ids})", drivers)


def _name_of_step(previous: Version, version: Version) -> str:
    old, new = _triple(previous), _triple(version)
    if new[0] != old[0]:
        return "major"
    if new[1] != old[1]:
        return "minor"
    if new[2] != old[2]:
        return "patch"
    return "pre-release" if version.is_prerelease else "final release"
