"""Where a project keeps its version, and how to change it without disturbing the file.

Pure: each kind reads and writes bytes. Edits touch only the characters of the version itself,
so comments, quoting, key order and layout survive; a pyproject edit is checked by parsing the
result again. ``detect`` follows a ``pyproject.toml`` to the file a dynamic version comes from,
or reports that only the release tag carries it (setuptools-scm, hatch-vcs, ...).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .errors import PubgateError

_ASSIGNMENT = re.compile(
    r"^(?P<head>__version__[ \t]*(?::[ \t]*str[ \t]*)?=[ \t]*)(?P<q>\"|')(?P<v>[^\"'\n]*)(?P=q)",
    re.M,
)
_TABLE = re.compile(r"^[ \t]*\[(?P<name>[^\[\]]+)\][ \t]*(?:#.*)?$")
_VERSION_KEY = re.compile(r"^(?P<head>[ \t]*version[ \t]*=[ \t]*)(?P<q>\"|')(?P<v>[^\"'\n]*)(?P=q)")
# Build backends and plugins that take the version from git tags.
_VCS_PLUGINS = (
    "setuptools_scm",
    "setuptools-scm",
    "hatch-vcs",
    "poetry-dynamic-versioning",
    "versioningit",
)


class VersionFileError(PubgateError):
    pass


def _text(path: str, data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise VersionFileError(f"{path} is not UTF-8 text", "fix version.files") from e


@dataclass(frozen=True)
class VersionFile:
    """One file holding the version. ``kind`` is pyproject, python or text."""

    path: str
    kind: str

    @classmethod
    def for_path(cls, path: str) -> VersionFile:
        name = path.rsplit("/", 1)[-1]
        if name == "pyproject.toml":
            return cls(path, "pyproject")
        if name.endswith(".py"):
            return cls(path, "python")
        return cls(path, "text")

    def read(self, data: bytes) -> str | None:
        """The version the file declares, or None when it declares none."""
        text = _text(self.path, data)
        if self.kind == "text":
            return text.strip() or None
        if self.kind == "python":
            found = _ASSIGNMENT.search(text)
            return found["v"] if found else None
        span = _pyproject_span(text)
        return text[span[0] : span[1]] if span else None

    def write(self, data: bytes, version: str) -> bytes:
        """The file with its version replaced; refuses when it has no version to replace."""
        text = _text(self.path, data)
        if self.kind == "text":
            stripped = text.strip()
            if not stripped:
                return (version + "\n").encode()
            start = text.index(stripped)
            return (text[:start] + version + text[start + len(stripped) :]).encode()
        if self.kind == "python":
            found = _ASSIGNMENT.search(text)
            if not found:
                raise VersionFileError(
                    f'{self.path} has no __version__ = "..." line',
                    "add one, or list the right file under version.files",
                )
            return (text[: found.start("v")] + version + text[found.end("v") :]).encode()
        span = _pyproject_span(text)
        if span is None:
            raise VersionFileError(
                f"{self.path} has no version in [project] (or [tool.poetry])",
                'add version = "0.0.0" there, or list the right file under version.files',
            )
        result = text[: span[0]] + version + text[span[1] :]
        _check_pyproject(self.path, text, result, version)
        return result.encode()


def _pyproject_span(text: str) -> tuple[int, int] | None:
    """Where the characters of ``[project].version`` (else ``[tool.poetry].version``) are."""
    spans: dict[str, tuple[int, int]] = {}
    table = ""
    offset = 0
    for line in text.splitlines(keepends=True):
        header = _TABLE.match(line.rstrip("\r\n"))
        if header:
            table = header["name"].strip().replace(" ", "")
        elif table in ("project", "tool.poetry") and table not in spans:
            key = _VERSION_KEY.match(line)
            if key:
                spans[table] = (offset + key.start("v"), offset + key.end("v"))
        offset += len(line)
    return spans.get("project") or spans.get("tool.poetry")


def _check_pyproject(path: str, before: str, after: str, version: str) -> None:
    """The edit changed the version and nothing else, as TOML sees it."""
    try:
        old, new = tomllib.loads(before), tomllib.loads(after)
    except tomllib.TOMLDecodeError as e:
        raise VersionFileError(f"{path} is not valid TOML: {e}", "fix the file") from e
    for table in (("project",), ("tool", "poetry")):
        here: Any = new
        for part in table:
            here = here.get(part, {}) if isinstance(here, dict) else {}
        if isinstance(here, dict) and "version" in here:
            here["version"] = _lookup(old, table).get("version")
            break
    if old != new:
        raise VersionFileError(
            f"could not change the version in {path} without changing anything else",
            'write version = "X.Y.Z" on a line of its own under [project]',
        )


def _lookup(data: dict[str, Any], table: tuple[str, ...]) -> dict[str, Any]:
    here: Any = data
    for part in table:
        here = here.get(part, {})
    return here if isinstance(here, dict) else {}


@dataclass(frozen=True)
class VersionSource:
    """Where a project's version lives: files to edit, or only the release tag (``files`` empty).

    Attributes:
        why: for a tag-only version, what said so (e.g. "hatch-vcs").
    """

    files: tuple[VersionFile, ...]
    why: str = ""
    from_tags: bool = False  # a build plugin computes the version from the release tag


def detect(read: Callable[[str], bytes | None]) -> VersionSource:
    """Find the version of the project whose files ``read(path)`` returns (None: no file)."""
    data = read("pyproject.toml")
    if data is None:
        return VersionSource((), "no pyproject.toml")
    try:
        doc = tomllib.loads(_text("pyproject.toml", data))
    except tomllib.TOMLDecodeError as e:
        raise VersionFileError(f"pyproject.toml is not valid TOML: {e}", "fix the file") from e
    project = _lookup(doc, ("project",))
    pyproject = VersionFile("pyproject.toml", "pyproject")
    if "version" in project or "version" in _lookup(doc, ("tool", "poetry")):
        return VersionSource((pyproject,))
    if "version" not in project.get("dynamic", []):
        return VersionSource((), "pyproject.toml declares no version")
    return _dynamic(doc, read)


def _dynamic(doc: dict[str, Any], read: Callable[[str], bytes | None]) -> VersionSource:
    hatch = _lookup(doc, ("tool", "hatch", "version"))
    if isinstance(hatch.get("path"), str) and hatch.get("source", "regex") == "regex":
        return VersionSource((VersionFile.for_path(hatch["path"]),))
    if hatch.get("source") == "vcs":
        return VersionSource((), "hatch-vcs", from_tags=True)
    if _lookup(doc, ("tool", "pdm", "version")).get("source") == "scm":
        return VersionSource((), "pdm-backend scm", from_tags=True)
    dynamic = _lookup(doc, ("tool", "setuptools", "dynamic")).get("version")
    if isinstance(dynamic, dict):
        if isinstance(dynamic.get("file"), str):
            return VersionSource((VersionFile(dynamic["file"], "text"),))
        if isinstance(dynamic.get("attr"), str):
            module = dynamic["attr"].rsplit(".", 1)[0].replace(".", "/")
            for candidate in (
                f"{module}/__init__.py",
                f"src/{module}/__init__.py",
                f"{module}.py",
                f"src/{module}.py",
            ):
                if read(candidate) is not None:
                    return VersionSource((VersionFile(candidate, "python"),))
    requires = " ".join(_lookup(doc, ("build-system",)).get("requires", []))
    tools = _lookup(doc, ("tool",))
    for plugin in _VCS_PLUGINS:
        if plugin in requires or plugin.replace("-", "_") in tools or plugin in tools:
            return VersionSource((), plugin, from_tags=True)
    if "flit" in _lookup(doc, ("build-system",)).get("build-backend", ""):
        name = str(_lookup(doc, ("project",)).get("name", "")).replace("-", "_")
        for candidate in (f"{name}/__init__.py", f"src/{name}/__init__.py"):
            if read(candidate) is not None:
                return VersionSource((VersionFile(candidate, "python"),))
    raise VersionFileError(
        "pyproject.toml declares a dynamic version, and git-pubgate cannot tell where it lives",
        'list the file under version.files, e.g. files: ["src/pkg/__init__.py"]',
    )
