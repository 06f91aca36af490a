"""``pubgate.yaml`` or ``[tool.pubgate]`` in ``pyproject.toml`` -> a frozen ``Config``.

Validation is strict: an unknown key is an error with a "did you mean" hint, and every message
names the file, the line (where YAML gives one), the key path and what was expected.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pathspec
import yaml

from .credentials import has_credentials, redacted
from .errors import ConfigError
from .paths import check_moves
from .refnames import is_valid_ref
from .replace import ReplaceError, Replacement, compile_rule
from .urls import repository_key

CONFIG_NAMES = ("pubgate.yaml", "pubgate.yml")
DEFAULT_TRAILER = "Pubgate-Source"
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_TRAILER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]*$")


DEFAULT_COMMITTER = "git-pubgate <release-bot@git-pubgate.invalid>"
BUMPS = ("auto", "major", "minor", "patch", "none")
PRERELEASES = {"a": "a", "alpha": "a", "b": "b", "beta": "b", "rc": "rc"}


@dataclass(frozen=True)
class VersionPolicy:
    """The ``version:`` section: releases are on when it is present."""

    bump: str = "auto"
    prerelease: str | None = None
    major_on_zero: bool = False
    files: tuple[str, ...] | None = None  # None: found from pyproject.toml
    changelog: str | None = "CHANGELOG.md"
    tag_prefix: str = "v"


@dataclass(frozen=True)
class LeakReviewPolicy:
    """The ``leak_review:`` section: the public tip is reviewed on the source's side first."""

    stage_branch: str = "pubgate/stage"  # sync pushes the public tip here, on the source
    approved_branch: str = "pubgate/approved"  # what it contains may go to the target


@dataclass(frozen=True)
class Config:
    """Validated settings. Paths in ``source_repo``/``target_repo`` are resolved to absolute."""

    path: Path
    target_repo: str | None = None
    source_repo: str | None = None
    source_branch: str | None = None
    review_branch: str = "main"
    branch_prefix: str = "pubgate/"
    exclude: tuple[str, ...] = ()
    include: tuple[str, ...] | None = None
    keep_public: tuple[str, ...] = ()
    trailer: str | None = DEFAULT_TRAILER
    github_token_env: str | None = None
    pypi_token_env: str | None = None
    pypi_package_name: str | None = None
    pre_publish_commands: tuple[str, ...] = field(default=())
    forge: str | None = None  # None: detect from target_repo
    api_url: str | None = None
    gitlab_token_env: str | None = None
    gitea_token_env: str | None = None
    azure_token_env: str | None = None
    bitbucket_token_env: str | None = None  # Bitbucket Cloud and Data Center
    pr_title: str | None = None
    pr_body: str | None = None
    pr_labels: tuple[str, ...] = ()
    pr_reviewers: tuple[str, ...] = ()
    pr_draft: bool = False
    pypi_repository_url: str | None = None
    scrub: tuple[str, ...] = ()
    keep_only: tuple[str, ...] = ()
    forbid: tuple[str, ...] = ()
    default_scrub: bool = True
    fallback: str = "Internal change"
    rewrite_ids: bool = True
    authors_map: tuple[tuple[str, str], ...] = ()
    authors_fail_on: tuple[str, ...] = ()
    authors_mailmap: bool = False
    github_app_id: str | None = None
    github_app_key_env: str | None = None
    version: VersionPolicy | None = None
    committer: str = DEFAULT_COMMITTER
    source_forge: str | None = None  # None: detect from source_repo
    source_api_url: str | None = None
    source_token_env: str | None = None
    root: str = ""  # the source folder that is the public root ("": the whole source)
    move: tuple[tuple[str, str], ...] = ()  # (source path, public path)
    name: str | None = None  # the target's name, in a file with targets
    targets: tuple[Config, ...] = ()  # a file with targets: each one, defaults applied
    replace: tuple[Replacement, ...] = ()
    secrets_scan: bool = True
    secrets_allow: tuple[str, ...] = ()
    defaults: bool = True
    publish_config: bool = False
    check_commands: tuple[str, ...] = ()  # run in a checkout of the public tip before a push
    check_env: tuple[str, ...] = ()  # variables check_commands get besides PATH and HOME
    leak_review: LeakReviewPolicy | None = None  # None: the target's pull request is the gate

    @property
    def token_envs(self) -> tuple[str, ...]:
        """The variables this configuration names as holding tokens (their values are secrets)."""
        names = (
            self.github_token_env,
            self.gitlab_token_env,
            self.gitea_token_env,
            self.azure_token_env,
            self.bitbucket_token_env,
            self.pypi_token_env,
            self.github_app_key_env,
            self.source_token_env,
        )
        return tuple(dict.fromkeys(n for n in names if n))

    @property
    def head_branch(self) -> str:
        return f"{self.branch_prefix}sync"


class ConfigMissingError(ConfigError):
    """No configuration file where one is looked for (the pre-push hook then uses saved rules)."""


class _Source:
    """Where each key path came from, for messages: file name and YAML line numbers."""

    def __init__(self, path: Path, lines: Mapping[str, int], target: str | None = None):
        self.path = path
        self.lines = lines
        self.target = target
        # A target's keys are written under targets.NAME; the ones it inherits are not.
        self.own: set[str] = set()

    def error(self, key: str, problem: str, hint: str | None = None) -> ConfigError:
        if self.target is not None and key.split(".", 1)[0].split("[", 1)[0] in self.own:
            key = f"targets.{self.target}.{key}"
        line = self.lines.get(key)
        where = f"{self.path}:{line}" if line else str(self.path)
        return ConfigError(f"{where}: {key}: {problem}", hint or _about(key))


def _yaml_lines(node: yaml.Node, prefix: str, out: dict[str, int], src: Path) -> None:
    """Record the line of every mapping key and list item; refuse duplicate keys."""
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            path = f"{prefix}.{key}" if prefix else key
            if key in seen:
                raise ConfigError(
                    f"{src}:{key_node.start_mark.line + 1}: {path}: duplicate key",
                    "keep one of the two entries",
                )
            seen.add(key)
            out[path] = key_node.start_mark.line + 1
            _yaml_lines(value_node, path, out, src)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            out[f"{prefix}[{index}]"] = item.start_mark.line + 1
            _yaml_lines(item, f"{prefix}[{index}]", out, src)


def _read_yaml(path: Path) -> tuple[Any, dict[str, int]]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"cannot read {path}: {e}", "check the path given to --config") from e
    lines: dict[str, int] = {}
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        if node is not None:
            _yaml_lines(node, "", lines, path)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise ConfigError(
            f"{where}: invalid YAML: {e.problem or e.context}",
            "YAML lists need '- ' items and strings with ':' or '#' need quotes",
        ) from e
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: invalid YAML: {e}", "check the file's syntax") from e
    return data, lines


def _toml_error(path: Path, error: tomllib.TOMLDecodeError) -> ConfigError:
    """tomllib's message as ``file:line: invalid TOML: problem (column N)``."""
    text = str(error)
    found = re.fullmatch(r"(.*) \(at line (\d+), column (\d+)\)", text, re.S)
    where, problem = str(path), text
    if found:
        where = f"{path}:{found.group(2)}"
        problem = f"{found.group(1)} (column {found.group(3)})"
    return ConfigError(
        f"{where}: invalid TOML: {problem}",
        'fix that line: strings need quotes (key = "value"), lists brackets (["a", "b"])',
    )


def _read_pyproject(path: Path) -> Any:
    try:
        with path.open("rb") as f:
            data = tomllib.load(f)
    except OSError as e:
        raise ConfigError(f"cannot read {path}: {e}", "check the path given to --config") from e
    except tomllib.TOMLDecodeError as e:
        raise _toml_error(path, e) from e
    table = data.get("tool", {}).get("pubgate")
    if table is None:
        raise ConfigError(
            f"{path}: has no [tool.pubgate] table",
            "add a [tool.pubgate] table, or write pubgate.yaml (git pubgate init)",
        )
    return table


# Checkers take (value, key path, source) and return the converted value or raise.
_Check = Callable[[Any, str, _Source], Any]


def _string(value: Any, key: str, src: _Source) -> str:
    if not isinstance(value, str) or not value.strip():
        raise src.error(
            key,
            f"expected a non-empty string, got {_kind(value)}",
            f'write it in quotes: {_leaf(key)}: "..." (YAML reads yes, 1.0 or a bare : '
            "as other types)",
        )
    return value


def _branch(value: Any, key: str, src: _Source) -> str:
    name = _string(value, key, src)
    if name.startswith("-") or not is_valid_ref(f"refs/heads/{name}"):
        raise src.error(key, f"{name!r} is not a valid branch name", "see git check-ref-format")
    return name


def _prefix(value: Any, key: str, src: _Source) -> str:
    name = _string(value, key, src)
    if name.startswith("-") or not is_valid_ref(f"refs/heads/{name}sync"):
        raise src.error(key, f"{name!r} does not make valid branch names", "try 'pubgate/'")
    return name


def is_local(location: str) -> bool:
    """Whether a repository location is a local path (or ``file://``) rather than a URL.

    git reads ``host:path`` and ``user@host:path`` as ssh (scp syntax) when there is no slash
    before the first colon.
    """
    if location.startswith("file://"):
        return True
    if "://" in location:
        return False
    before_colon = location.split(":", 1)
    return len(before_colon) == 1 or "/" in before_colon[0]


def normalise_url(url: str) -> str:
    """``host/owner/name`` for any spelling of a repository URL (see ``urls``)."""
    return repository_key(url)


def _repo_location(value: Any, key: str, src: _Source) -> str:
    location = _string(value, key, src).strip()
    if location.startswith("-"):
        raise src.error(key, "a repository location cannot start with '-'")
    if has_credentials(location):
        # Shown redacted: the error must not repeat what it refuses.
        raise src.error(
            key,
            f"{redacted(location)} holds a password or token, which would reach every git "
            "command line, every log and, with this file committed, the public tree",
            "remove it from the URL; put the token in an environment variable and name that "
            "variable in "
            + (
                "source_token_env"
                if key == "source_repo"
                else "github_token_env (or the forge's own: gitlab_token_env, gitea_token_env, "
                "azure_token_env, bitbucket_token_env)"
            ),
        )
    if not is_local(location) or location.startswith("file://"):
        return location
    # A local path: relative to the file that names it, not to wherever git pubgate runs.
    return str((src.path.parent / Path(location).expanduser()).resolve())


def _env_name(value: Any, key: str, src: _Source) -> str:
    name = _string(value, key, src)
    if not _ENV_NAME.match(name):
        raise src.error(
            key,
            f"expected the name of an environment variable, got {name!r}",
            "name the variable that holds the token (GH_TOKEN), never the token itself",
        )
    return name


def _env_names(value: Any, key: str, src: _Source) -> tuple[str, ...]:
    names = _strings(value, key, src)
    for index, name in enumerate(names):
        if not _ENV_NAME.match(name):
            raise src.error(
                f"{key}[{index}]",
                f"expected the name of an environment variable, got {name!r}",
                "list variable names (LANG, PIP_INDEX_URL), never values",
            )
    return tuple(dict.fromkeys(names))


def _strings(value: Any, key: str, src: _Source) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise src.error(
            key,
            f"expected a list of strings, got {_kind(value)}",
            f'write a list, even of one: {_leaf(key)}: ["first", "second"]',
        )
    return tuple(_string(item, f"{key}[{i}]", src) for i, item in enumerate(value))


def _patterns(value: Any, key: str, src: _Source) -> tuple[str, ...]:
    patterns = _strings(value, key, src)
    for index, pattern in enumerate(patterns):
        try:
            pathspec.GitIgnoreSpec.from_lines([pattern])
        except ValueError as e:
            raise src.error(
                f"{key}[{index}]", f"{pattern!r} is not a gitignore pattern: {e}"
            ) from e
    return patterns


def _trailer(value: Any, key: str, src: _Source) -> str | None:
    if value is False:
        return None
    name = _string(value, key, src)
    if not _TRAILER_NAME.match(name):
        raise src.error(
            key, f"{name!r} is not a trailer name", "letters, digits and '-' only, or false"
        )
    return name


def _forge(value: Any, key: str, src: _Source) -> str:
    name = _string(value, key, src)
    if name not in FORGES:
        raise src.error(key, f"expected one of {', '.join(FORGES)}, got {name!r}")
    return name


# The fields pr.title and pr.body may use, e.g. "Sync {count} commits from {source_branch}".
PR_FIELDS = (
    "count",
    "plural",
    "source_branch",
    "source_tip",
    "head",
    "commits",
    "held_back",
    "new_identities",
    "symlinks",
    "reproduce",
    "version",
    "release",
)


def _template(value: Any, key: str, src: _Source) -> str:
    text = _string(value, key, src)
    try:
        text.format_map(dict.fromkeys(PR_FIELDS, ""))
    except KeyError as e:
        raise src.error(
            key,
            f"unknown field {{{e.args[0]}}}",
            "fields: " + ", ".join(f"{{{f}}}" for f in PR_FIELDS),
        ) from e
    except (ValueError, IndexError) as e:
        raise src.error(
            key, f"not a valid template: {e}", "write a literal brace as {{ or }}"
        ) from e
    return text


def _app_id(value: Any, key: str, src: _Source) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, str)) or not str(value).strip():
        raise src.error(key, f"expected the app's id or client id, got {_kind(value)}")
    return str(value).strip()


def _boolean(value: Any, key: str, src: _Source) -> bool:
    if not isinstance(value, bool):
        raise src.error(
            key,
            f"expected true or false, got {_kind(value)}",
            f"write {_leaf(key)}: true or {_leaf(key)}: false, without quotes",
        )
    return value


def _url(value: Any, key: str, src: _Source) -> str:
    url = _string(value, key, src).strip()
    if not re.match(r"^https?://[^/\s]+", url):
        raise src.error(
            key,
            f"expected an http(s) URL, got {url!r}",
            "GitHub Enterprise Server: https://HOST/api/v3",
        )
    return url


def _identity(value: Any, key: str, src: _Source) -> str:
    text = _string(value, key, src).strip()
    if not re.match(r"^[^<>\n]+ <[^<>\s]+@[^<>\s]+>$", text):
        raise src.error(key, f"expected 'Name <address>', got {text!r}")
    return text


def _repo_path(value: Any, key: str, src: _Source) -> str:
    path = _string(value, key, src).strip()
    parts = path.split("/")
    if path.startswith("/") or any(p in ("", ".", "..", ".git") for p in parts):
        raise src.error(
            key,
            f"expected a path inside the repository, got {path!r}",
            "write it relative to the repository root, e.g. src/pkg/__init__.py",
        )
    return path


def _bump(value: Any, key: str, src: _Source) -> str:
    name = _string(value, key, src)
    if name not in BUMPS:
        raise src.error(key, f"expected one of {', '.join(BUMPS)}, got {name!r}")
    return name


def _prerelease(value: Any, key: str, src: _Source) -> str | None:
    if value is False:
        return None
    name = _string(value, key, src)
    if name not in PRERELEASES:
        raise src.error(key, f"expected a, b, rc or false, got {name!r}")
    return PRERELEASES[name]


def _changelog(value: Any, key: str, src: _Source) -> str | None:
    return None if value is False else _repo_path(value, key, src)


def _files(value: Any, key: str, src: _Source) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise src.error(
            key,
            f"expected a list of paths, got {_kind(value)}",
            f'write a list, even of one: {_leaf(key)}: ["pyproject.toml"]',
        )
    return tuple(_repo_path(item, f"{key}[{i}]", src) for i, item in enumerate(value))


def _tag_prefix(value: Any, key: str, src: _Source) -> str:
    if not isinstance(value, str):
        raise src.error(key, f"expected a string (may be empty), got {_kind(value)}")
    if value.startswith("-") or not is_valid_ref(f"refs/tags/{value}1.0.0"):
        raise src.error(key, f"{value!r} does not make valid tag names", "try 'v'")
    return value


def _root(value: Any, key: str, src: _Source) -> str:
    text = _string(value, key, src).strip().strip("/")
    return _repo_path(text, key, src) if text else _repo_path(value, key, src)


def _moves(value: Any, key: str, src: _Source) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, dict) or not value:
        raise src.error(
            key,
            f"expected a mapping of source paths to public paths, got {_kind(value)}",
            "for example  move: {LICENSE: LICENSE, tools/ci/lint.toml: .lint.toml}",
        )
    pairs = []
    for source, public in value.items():
        where = f"{key}.{source}"
        pairs.append(
            (
                _repo_path(str(source).strip("/"), where, src),
                _repo_path(_string(public, where, src).strip("/"), where, src),
            )
        )
    clash = check_moves(pairs)
    if clash is not None:
        raise src.error(
            key,
            f"two moves overlap: {clash[0]!r} and {clash[1]!r} (the same path, or one inside "
            "the other)",
            "give each moved path its own source and its own public place",
        )
    return tuple(pairs)


def _replace(value: Any, key: str, src: _Source) -> tuple[Replacement, ...]:
    if not isinstance(value, list):
        raise src.error(key, f"expected a list of rules, got {_kind(value)}")
    rules = []
    for index, item in enumerate(value):
        where = f"{key}[{index}]"
        if not isinstance(item, dict):
            raise src.error(where, f"expected {{pattern, with, paths}}, got {_kind(item)}")
        for name in item:
            if name not in ("pattern", "with", "paths"):
                raise _unknown(
                    str(name), dict.fromkeys(("pattern", "with", "paths")), src, f"{where}."
                )
        if "pattern" not in item or "with" not in item:
            raise src.error(where, "needs both 'pattern' and 'with'")
        pattern = _string(item["pattern"], f"{where}.pattern", src)
        text = item["with"]
        if not isinstance(text, str):
            raise src.error(f"{where}.with", f"expected a string (may be empty), got {_kind(text)}")
        paths = _patterns(item["paths"], f"{where}.paths", src) if "paths" in item else None
        rule = Replacement(pattern, text, paths)
        try:
            compile_rule(rule)
        except ReplaceError as e:
            raise src.error(
                f"{where}.{e.field}",
                str(e),
                "groups are \\1 or \\g<name>; a literal backslash is \\\\",
            ) from e
        rules.append(rule)
    return tuple(rules)


_FINGERPRINT = re.compile(r"^[0-9a-f]{20}$")


def _secrets(value: Any, key: str, src: _Source) -> tuple[bool, tuple[str, ...]]:
    """``secrets: false`` turns the scan off; ``secrets: {allow: [...]}`` accepts findings."""
    if isinstance(value, bool):
        return value, ()
    if not isinstance(value, dict):
        raise src.error(key, f"expected false or a mapping with 'allow', got {_kind(value)}")
    for name in value:
        if name != "allow":
            raise _unknown(str(name), {"allow": None}, src, f"{key}.")
    allow = _strings(value.get("allow") or [], f"{key}.allow", src)
    for index, mark in enumerate(allow):
        if not _FINGERPRINT.match(mark):
            raise src.error(
                f"{key}.allow[{index}]",
                "expected a fingerprint as sync prints it (20 hex digits)",
                "copy the fingerprint from the sync error (20 hex digits); never the secret",
            )
    return True, allow


_TOP: dict[str, _Check] = {
    "source_repo": _repo_location,
    "target_repo": _repo_location,
    "source_branch": _branch,
    "review_branch": _branch,
    "branch_prefix": _prefix,
    "exclude": _patterns,
    "include": _patterns,
    "keep_public": _patterns,
    "github_token_env": _env_name,
    "pypi_token_env": _env_name,
    "pypi_package_name": _string,
    "pre_publish_commands": _strings,
    "forge": _forge,
    "api_url": _url,
    "gitlab_token_env": _env_name,
    "gitea_token_env": _env_name,
    "azure_token_env": _env_name,
    "bitbucket_token_env": _env_name,
    "pypi_repository_url": _url,
    "committer": _identity,
    "source_forge": _forge,
    "source_api_url": _url,
    "source_token_env": _env_name,
    "root": _root,
    "move": _moves,
    "replace": _replace,
    "secrets": _secrets,
    "defaults": _boolean,
    "publish_config": _boolean,
    "check_commands": _strings,
    "check_env": _env_names,
}


def _regexes(value: Any, key: str, src: _Source) -> tuple[str, ...]:
    patterns = _strings(value, key, src)
    for index, pattern in enumerate(patterns):
        try:
            re.compile(pattern.encode("utf-8"), re.MULTILINE)
        except re.error as e:
            raise src.error(
                f"{key}[{index}]", f"{pattern!r} is not a regular expression: {e}"
            ) from e
    return patterns


def _identity_map(value: Any, key: str, src: _Source) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, dict):
        raise src.error(key, f"expected a mapping of addresses to identities, got {_kind(value)}")
    pairs = []
    for who, target in value.items():
        path = f"{key}.{who}"
        if not isinstance(who, str) or "@" not in who:
            raise src.error(
                path, "expected an address (a@corp.example) or a domain (@corp.example)"
            )
        text = _string(target, path, src)
        try:
            formatted = text.format(name="N", local="l")
        except (KeyError, IndexError, ValueError) as e:
            raise src.error(path, f"not a valid target: {e}", "fields: {name}, {local}") from e
        if not re.match(r"^[^<>]*<[^<>@]+@[^<>]+>$", formatted.strip()):
            raise src.error(path, f"expected 'Name <address>', got {text!r}")
        pairs.append((who, text.strip()))
    return tuple(pairs)


_MESSAGE: dict[str, _Check] = {
    "trailer": _trailer,
    "scrub": _regexes,
    "keep_only": _regexes,
    "forbid": _regexes,
    "default_scrub": _boolean,
    "fallback": _string,
    "rewrite_ids": _boolean,
}
_AUTHORS: dict[str, _Check] = {"map": _identity_map, "fail_on": _strings, "mailmap": _boolean}
_PR: dict[str, _Check] = {
    "title": _template,
    "body": _template,
    "labels": _strings,
    "reviewers": _strings,
    "draft": _boolean,
}
_GITHUB_APP: dict[str, _Check] = {"app_id": _app_id, "private_key_env": _env_name}
_LEAK_REVIEW: dict[str, _Check] = {"stage_branch": _branch, "approved_branch": _branch}
_VERSION: dict[str, _Check] = {
    "bump": _bump,
    "prerelease": _prerelease,
    "major_on_zero": _boolean,
    "files": _files,
    "changelog": _changelog,
    "tag_prefix": _tag_prefix,
}
FORGES = ("github", "gitlab", "gitea", "azure", "bitbucket", "bitbucket-server", "none")

# What each key means: the man page is generated from this table, and a test checks that every
# key the validator accepts is here.
DESCRIPTIONS: dict[str, str] = {
    "source_repo": "The internal repository: a local path, or a URL that is a remote of the "
    "repository git pubgate runs in. Default: the repository it runs in.",
    "source_branch": "The branch to publish. Default: the source's HEAD branch.",
    "target_repo": "The public repository: a path, file://, https:// or ssh URL, never with a "
    "password or token in it (name the token's variable in github_token_env). Required.",
    "review_branch": "The public branch pull requests go into. Default: main.",
    "branch_prefix": "Prefix of the head branch sync pushes. Default: pubgate/.",
    "exclude": "Paths that never leave, in gitignore syntax.",
    "include": "If given, only these paths (gitignore syntax) are published, before exclude.",
    "keep_public": "Paths (gitignore syntax) that stay public as the last synced public commit "
    "has them although exclude or include now leave them out: sync neither updates nor deletes "
    "them. Other public paths the rules take away are refused until sync --delete-excluded.",
    "message.trailer": "Trailer that records each public commit's source commit. Default: "
    "Pubgate-Source; false turns it off, at the cost of a full rewrite every run.",
    "github_token_env": "Name of the environment variable holding the token for https pushes "
    "and the forge's API.",
    "gitlab_token_env": "A GitLab target's own token variable (else github_token_env).",
    "gitea_token_env": "A Gitea target's own token variable (else github_token_env).",
    "azure_token_env": "An Azure DevOps target's own token variable, holding a personal "
    "access token (else github_token_env).",
    "bitbucket_token_env": "A Bitbucket Cloud or Data Center target's own token variable "
    "(else github_token_env): an access token, or USER:TOKEN.",
    "forge": "github, gitlab, gitea, azure, bitbucket (Cloud), bitbucket-server (Data Center) "
    "or none. Default: from target_repo (see FORGES).",
    "api_url": "The forge's REST API, for self-hosted instances (GitHub Enterprise Server: "
    "https://HOST/api/v3; Azure DevOps Server: the collection, https://HOST/COLLECTION; "
    "Bitbucket Data Center: https://HOST/rest/api/latest).",
    "message.scrub": "Regular expressions (multiline) removed from every public message.",
    "message.keep_only": "Allow-list: keep only what the first matching expression matches (its "
    "'public' or first group); other messages become message.fallback.",
    "message.forbid": "Expressions a public message must not match after scrubbing: sync "
    "refuses, naming the commit and the rule.",
    "message.default_scrub": "Remove Gerrit and Phabricator trailers (Change-Id, Reviewed-on, "
    "Differential Revision, ...). Default: true.",
    "message.fallback": "The message of a commit keep_only finds nothing in. Default: Internal "
    "change.",
    "message.rewrite_ids": "Rewrite source commit ids quoted in messages (7 to 40 hex digits, "
    "such as 'Revert 3f2a1c9') to the ids of their public images, as git-filter-repo does. "
    "Default: true.",
    "authors.map": "Internal address or @domain to 'Name <address>' ({name} and {local} may be "
    "used), for authors, committers and Co-authored-by trailers.",
    "authors.fail_on": "Domains no published identity may have: sync refuses.",
    "authors.mailmap": "Apply the source's .mailmap first. Default: false.",
    "github_app.app_id": "Sign in as this GitHub App instead of with a token.",
    "github_app.private_key_env": "Name of the variable holding the app's private key (PEM).",
    "pr.title": "Template of the pull request title.",
    "pr.body": "Template of the pull request body.",
    "pr.labels": "Labels for a new pull request.",
    "pr.reviewers": "Reviewers requested on a new pull request.",
    "pr.draft": "Open new pull requests as drafts. Default: false.",
    "pypi_package_name": "The package's name on PyPI (for publish).",
    "pypi_token_env": "Name of the variable holding the PyPI token (for publish).",
    "pre_publish_commands": "Commands run, in order, before publish builds, in a clean export "
    "of the reviewed commit and without the configured tokens; the first failure stops "
    "everything.",
    "committer": "The identity of release commits: 'Name <address>'. Default: "
    f"{DEFAULT_COMMITTER}.",
    "version.bump": "auto (from Conventional Commits: feat minor, fix/perf patch, ! or "
    "BREAKING CHANGE major), major, minor, patch, or none (the version the source declares). "
    "Releases are on when the version section is present. Default: auto.",
    "version.prerelease": "a, b or rc: release 1.2.0rc1, then rc2, ...; false finalises. "
    "Default: false.",
    "version.major_on_zero": "A breaking change bumps the major version while it is 0. "
    "Default: false (it bumps the minor).",
    "version.files": "Files holding the version: pyproject.toml ([project].version), *.py "
    "(__version__ = ...), or text files. Default: found from pyproject.toml; a version from "
    "git tags (setuptools-scm, hatch-vcs) means only the tag carries it.",
    "version.changelog": "The changelog a release writes a section into, or false. Default: "
    "CHANGELOG.md.",
    "version.tag_prefix": "Prefix of release tags (publish writes them). Default: v.",
    "leak_review": "Review the public result inside first: sync pushes it to the source's "
    "stage_branch (with an internal pull request into approved_branch when the source is on a "
    "forge) and sends to the target only what approved_branch contains. true takes the "
    "default branch names. Needs message.trailer. Default: off.",
    "leak_review.stage_branch": "The source branch sync pushes the public tip to for review. "
    "Default: pubgate/stage (pubgate/NAME/stage for a target in a file with targets).",
    "leak_review.approved_branch": "The source branch whose history approves public tips "
    "(merged into it by merge commit or fast-forward; protect it). Default: pubgate/approved "
    "(pubgate/NAME/approved for a target in a file with targets).",
    "source_forge": "Where absorb and the leak review open their internal pull requests: a "
    "forge as for forge, or none. Default: from source_repo's host (a local source gets no "
    "pull request).",
    "source_api_url": "The source forge's REST API, for self-hosted instances.",
    "source_token_env": "Name of the variable holding the token for pushing to source_repo over "
    "https and for the source forge's API (absorb, leak_review).",
    "root": "A folder of the source that becomes the public root (libs/tracing/): only "
    "history that touches it is published, and exclude, include and version.files are written "
    "relative to it. Default: the whole source.",
    "move": "Files or folders placed into the public tree from elsewhere in the source, "
    "{source path: public path} (LICENSE: LICENSE). They leave their old place.",
    "targets": "Many public repositories from one source: a mapping of target names to "
    "settings. The top-level keys are defaults every target inherits and may override; "
    "exclude lists are added to, move and sections are merged key by key.",
    "pypi_repository_url": "Where publish uploads. Default: PyPI (https://upload.pypi.org/legacy/"
    "); TestPyPI and private indexes work too.",
    "replace": "Rules {pattern: regex, with: text, paths: [gitignore patterns]} applied to "
    "published text files after internal sections are removed (default paths: every text "
    "file); with may use \\1 and \\g<name>.",
    "secrets": "false turns off the secret scan of every newly published file (private keys, "
    "cloud keys, prefixed tokens, the values of the token variables named here). Default: on.",
    "secrets.allow": "Fingerprints (as a refusal prints them) of findings that are no secret.",
    "defaults": "Hold back the usual secret files (*.pem, *.key, id_rsa*, .env, ...) unless "
    "re-included with a ! pattern. Default: true.",
    "check_commands": "Commands run by /bin/sh, in order, in a temporary checkout of the public "
    "tip (the exact tree sync would push, release commit included) before sync pushes anything; "
    "the first failure stops the sync (exit 1) and nothing is pushed. They get a clean "
    "environment: PATH, HOME and check_env only. A pass is remembered for the same tip, "
    "commands and environment.",
    "check_env": "Names of further environment variables check_commands get (LANG, "
    "PIP_INDEX_URL). A variable this configuration names as holding a token is refused.",
    "publish_config": "Publish the configuration file (its internal-only keys inside "
    "BEGIN-INTERNAL/END-INTERNAL markers) instead of holding it back. Default: false.",
}


def known_keys() -> list[str]:
    """Every key path the validator accepts, in the order of the tables."""
    keys = list(_TOP)
    tables = (
        ("message", _MESSAGE),
        ("authors", _AUTHORS),
        ("pr", _PR),
        ("github_app", _GITHUB_APP),
        ("version", _VERSION),
        ("leak_review", _LEAK_REVIEW),
    )
    for name, table in tables:
        if name == "leak_review":  # also a key of its own: leak_review: true
            keys.append(name)
        keys += [f"{name}.{key}" for key in table]
    return [*keys, "targets", "secrets.allow"]


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    return {
        bool: "a boolean",
        int: "a number",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "a mapping",
    }.get(type(value), type(value).__name__)


def _leaf(key: str) -> str:
    """The name a key has in the file: ``exclude[0]`` -> exclude, ``pr.title`` -> title."""
    return key.split("[", 1)[0].rpartition(".")[2]


def _about(key: str) -> str:
    """A hint for a key's error that names what the key takes (from its description)."""
    plain = re.sub(r"^targets\.[^.]+\.", "", key.split("[", 1)[0])  # targets.NAME.exclude
    described = DESCRIPTIONS.get(plain)
    if described is None:
        return "see CONFIGURATION in 'man git-pubgate' for what each key takes"
    return f"{plain}: {described}"


def _unknown(key: str, known: Mapping[str, Any], src: _Source, prefix: str = "") -> ConfigError:
    close = difflib.get_close_matches(key, list(known), n=1, cutoff=0.6)
    hint = f"did you mean '{prefix}{close[0]}'?" if close else "known keys: " + ", ".join(known)
    return src.error(prefix + key, "unknown key", hint)


_TARGET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_SECTIONS = ("message", "authors", "pr", "github_app", "version", "leak_review")


def _inherit(defaults: dict[str, Any], own: dict[str, Any]) -> dict[str, Any]:
    """A target's settings: the defaults, then its own keys over them.

    ``exclude`` lists are added to (a target can only hold back more), ``move`` mappings and
    sections (``version``, ``pr``, ...) are merged key by key, and a section set to ``false``
    is dropped (``version: false``: no releases for this target). Anything else is replaced.
    """
    merged = dict(defaults)
    for key, value in own.items():
        before = merged.get(key)
        if key == "exclude" and isinstance(before, list) and isinstance(value, list):
            merged[key] = before + value
        elif key in _SECTIONS and value is False:
            merged.pop(key, None)
        elif (key == "move" or key in _SECTIONS) and isinstance(before, dict):
            merged[key] = {**before, **value} if isinstance(value, dict) else value
        else:
            merged[key] = value
    return merged


def _targets(data: dict[str, Any], src: _Source) -> tuple[Config, ...]:
    """Each entry of ``targets:``, with the top-level keys as its defaults."""
    raw = data["targets"]
    if not isinstance(raw, dict) or not raw:
        raise src.error(
            "targets",
            f"expected a mapping of target names to settings, got {_kind(raw)}",
            "for example  targets: {tracing: {root: libs/tracing/, target_repo: ...}}",
        )
    defaults = {k: v for k, v in data.items() if k != "targets"}
    out = []
    for name, own in raw.items():
        key = f"targets.{name}"
        if not isinstance(name, str) or not _TARGET_NAME.match(name):
            raise src.error(
                key,
                f"{name!r} is not a target name",
                "letters, digits, '.', '_' and '-', starting with a letter or digit",
            )
        settings = {} if own is None else own
        if not isinstance(settings, dict):
            raise src.error(key, f"expected a mapping of settings, got {_kind(settings)}")
        if "targets" in settings:
            raise src.error(f"{key}.targets", "targets cannot be nested")
        target_src = _Source(src.path, src.lines, target=name)
        target_src.own = {str(k) for k in settings}
        config = parse(_inherit(defaults, settings), target_src)
        out.append(dataclasses.replace(config, name=name))
    _refuse_shared_branches(out, src)
    return tuple(out)


def _refuse_shared_branches(targets: list[Config], src: _Source) -> None:
    """Two targets must not push to, or open pull requests into, the same branch."""
    seen: dict[tuple[str, str], str] = {}
    for target in targets:
        if not target.target_repo:
            raise src.error(
                f"targets.{target.name}",
                "has no target_repo",
                "give each target its public repository (target_repo)",
            )
        repo = normalise_url(target.target_repo)
        for branch in (target.review_branch, target.head_branch):
            other = seen.get((repo, branch))
            if other is not None:
                raise src.error(
                    f"targets.{target.name}",
                    f"pushes to {target.target_repo} branch {branch}, as target {other!r} does",
                    "give one of them another target_repo, review_branch or branch_prefix",
                )
            seen[(repo, branch)] = str(target.name)
    _refuse_shared_stages(targets, src)


def _refuse_shared_stages(targets: list[Config], src: _Source) -> None:
    """Targets share the source, so each needs leak-review branches of its own there."""
    seen: dict[str, str] = {}
    for target in targets:
        if target.leak_review is None:
            continue
        for key in ("stage_branch", "approved_branch"):
            branch = getattr(target.leak_review, key)
            other = seen.get(branch)
            if other is not None:
                raise src.error(
                    f"targets.{target.name}.leak_review.{key}",
                    f"is {branch!r}, a leak-review branch of target {other!r} too",
                    "each target reviews its own public tip: leave the names to their "
                    "defaults (pubgate/NAME/stage, pubgate/NAME/approved) or make them differ",
                )
            seen[branch] = str(target.name)


def parse(data: Any, src: _Source) -> Config:
    """Validate already-loaded data into a ``Config`` (pure apart from resolving local paths)."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"{src.path}: expected a mapping of settings, got {_kind(data)}",
            "write one 'key: value' per line; 'git pubgate init' writes a commented example",
        )
    if "targets" in data and src.target is None:
        targets = _targets(data, src)
        top = parse({k: v for k, v in data.items() if k != "targets"}, src)
        return dataclasses.replace(top, targets=targets)
    values: dict[str, Any] = {}
    sections = {
        "message": (_MESSAGE, ""),
        "authors": (_AUTHORS, "authors_"),
        "pr": (_PR, "pr_"),
        "github_app": (_GITHUB_APP, "github_app_"),
        "version": (_VERSION, "version_"),
        "leak_review": (_LEAK_REVIEW, "leak_review_"),
    }
    for raw_key, value in data.items():
        key = str(raw_key)
        if key == "leak_review" and value is False:
            continue  # leak_review: false, as a target turns off what the defaults set
        if key == "leak_review" and (value is None or value is True):
            value = {}  # noqa: PLW2901 (leak_review: true takes the default branch names)
        if key in sections:
            table, field_prefix = sections[key]
            if not isinstance(value, dict):
                raise src.error(
                    key,
                    f"expected a mapping, got {_kind(value)}",
                    f"write '{key}:' on its own line and its settings indented below it",
                )
            for sub, sub_value in value.items():
                check = table.get(str(sub))
                if check is None:
                    raise _unknown(str(sub), table, src, f"{key}.")
                values[field_prefix + str(sub)] = check(sub_value, f"{key}.{sub}", src)
            continue
        check = _TOP.get(key)
        if check is None:
            known = {**_TOP, **dict.fromkeys(sections)}
            raise _unknown(key, known if src.target else {**known, "targets": None}, src)
        if value is None:
            continue  # an empty key means "the default", as YAML users expect
        values[key] = check(value, key, src)
    if "secrets" in values:
        values["secrets_scan"], values["secrets_allow"] = values.pop("secrets")
    for section_key, field_name in (
        ("github_app_app_id", "github_app_id"),
        ("github_app_private_key_env", "github_app_key_env"),
    ):
        if section_key in values:
            values[field_name] = values.pop(section_key)
    version = {k[8:]: values.pop(k) for k in list(values) if k.startswith("version_")}
    if "version" in data:
        if values.get("trailer", DEFAULT_TRAILER) is None:
            raise src.error(
                "version",
                "releases need the message.trailer to know what was released",
                "remove message.trailer: false, or the version section",
            )
        values["version"] = VersionPolicy(**version)
    if "leak_review" in data and data["leak_review"] is not False:
        values["leak_review"] = _leak_review(values, src)
    if ("github_app_id" in values) != ("github_app_key_env" in values):
        raise src.error("github_app", "needs both app_id and private_key_env")
    config = Config(path=src.path, **values)
    _refuse_tokens_in_check_env(config, src)
    _check_pr_options(config, src)
    return config


def _check_pr_options(config: Config, src: _Source) -> None:
    """pr.labels or pr.reviewers the target's forge cannot take: an error now, not at sync."""
    if not config.pr_labels and not config.pr_reviewers:
        return
    # Imported only here: a configuration without these options never loads the forges.
    from .forge import forge_kind  # noqa: PLC0415
    from .forge.options import refusal  # noqa: PLC0415

    found = refusal(forge_kind(config), config.pr_labels, config.pr_reviewers)
    if found is not None:
        key, problem, hint = found
        raise src.error(key, problem, hint)


def _refuse_tokens_in_check_env(config: Config, src: _Source) -> None:
    """check_commands run code from the tree under review: never with a token in reach.

    Refused rather than quietly dropped: a check that needs the variable would otherwise fail
    later for a reason the configuration hides.
    """
    for index, name in enumerate(config.check_env):
        if name in config.token_envs:
            raise src.error(
                f"check_env[{index}]",
                f"{name} holds a token (this configuration names it as one), and "
                "check_commands never get a token",
                "remove it from check_env; a check that needs the network should use a token "
                "of its own, read-only, under another name",
            )


def _leak_review(values: dict[str, Any], src: _Source) -> LeakReviewPolicy:
    """The leak review's branches; a target's defaults carry its name, so targets never share."""
    named = f"pubgate/{src.target}/" if src.target else "pubgate/"
    stage = values.pop("leak_review_stage_branch", f"{named}stage")
    approved = values.pop("leak_review_approved_branch", f"{named}approved")
    if values.get("trailer", DEFAULT_TRAILER) is None:
        raise src.error(
            "leak_review",
            "the leak review needs message.trailer to tell which source commit an approved "
            "commit was made from",
            "remove message.trailer: false, or the leak_review section",
        )
    if stage == approved:
        raise src.error(
            "leak_review.approved_branch",
            f"is {approved!r}, the same branch as stage_branch",
            "the stage branch is what waits for review, the approved branch what passed it: "
            "give them different names",
        )
    for key, branch in (("stage_branch", stage), ("approved_branch", approved)):
        if branch == values.get("source_branch"):
            raise src.error(
                f"leak_review.{key}",
                f"is {branch!r}, the branch being published",
                "name a branch of its own, such as pubgate/stage and pubgate/approved",
            )
    return LeakReviewPolicy(stage, approved)


def load(path: Path) -> Config:
    """Load and validate one configuration file (YAML, or a pyproject.toml)."""
    if path.name == "pyproject.toml":
        return parse(_read_pyproject(path), _Source(path, {}))
    data, lines = _read_yaml(path)
    return parse(data, _Source(path, lines))


def find(start: Path, toplevel: Path | None) -> Path:
    """The configuration for a run in ``start``: pubgate.yaml, else [tool.pubgate]."""
    places = [start] + ([toplevel] if toplevel and toplevel != start else [])
    for place in places:
        for name in CONFIG_NAMES:
            if (place / name).is_file():
                return place / name
        pyproject = place / "pyproject.toml"
        if pyproject.is_file():
            try:
                raw = pyproject.read_bytes()
                if "pubgate" in tomllib.loads(raw.decode("utf-8")).get("tool", {}):
                    return pyproject
            except (OSError, UnicodeDecodeError):
                continue
            except tomllib.TOMLDecodeError as e:
                # A broken file that may hold [tool.pubgate]: say so, not "not found".
                if b"pubgate" in raw:
                    raise _toml_error(pyproject, e) from e
                continue
    raise ConfigMissingError(
        f"no pubgate.yaml or [tool.pubgate] found in {start}",
        "run 'git pubgate init' to write one, or pass --config FILE",
    )


STARTER = """\
# git-pubgate configuration: what leaves this repository, and where it goes.
# Reference: man git-pubgate

# The public repository (a path, file://, https:// or ssh URL). Required.
target_repo: "git@github.com:your-org/public-project.git"

# The branch to publish (omit it to publish the HEAD branch), and the public branch that pull
# requests go into.
# source_branch: "main"
review_branch: "main"

# This file is held back from the public repository. To publish it (publish runs from the
# public repository's CI), set publish_config: true: the internal block below, marker lines
# included, never leaves, and sync refuses a public version that still holds an internal-only
# key (source_repo, exclude, include, authors, message, replace): keep those inside the block.
# publish_config: true

# BEGIN-INTERNAL
# The internal repository. Omit it to publish the repository this file lives in.
# source_repo: "git@github.com:your-org/internal-project.git"

# Paths that never leave, in .gitignore syntax: "/docs/internal/" is anchored at the root,
# "*.pem" matches at any depth, "!keep.pem" re-includes. An excluded directory takes
# everything under it.
exclude:
  - "docs/internal/"
  - ".github/workflows/internal_ci.yml"
  - "*.pem"

# Publish only these paths (optional; applied before exclude).
# include:
#   - "src/"
#   - "README.md"

# Always held back, unless re-included with "!": *.pem, *.key, id_rsa*, id_ed25519*, *.p12,
# *.pfx, .env, .env.* (not .env.example), .pypirc, .netrc, *.kdbx, and an .npmrc holding a
# credential. defaults: false turns that list off.

# Each public commit records its source commit in this trailer; that is how the next sync
# knows where to continue. false turns it off, at the cost of a full rewrite every run.
# message:
#   trailer: "Pubgate-Source"

# Text rewritten in published files (after internal sections are removed), e.g. hosts:
# replace:
#   - pattern: "pypi\\.corp\\.example"
#     with: "pypi.org"
#     paths: ["*.toml", "*.cfg"]

# Commands run (by /bin/sh) in a temporary checkout of exactly what would be published, before
# sync pushes anything; the first failure stops the sync. They get PATH, HOME and the variables
# check_env names, never a token. 'git pubgate preview DIR' writes the same tree into DIR.
# check_commands:
#   - "python -m pytest -q"
# check_env: ["LANG"]
# END-INTERNAL

# Name of the environment variable that holds the token for pushing over https.
# The token itself never goes in this file.
github_token_env: "GH_TOKEN"

# Internal blocks (like the one above, in any comment style) are removed from every published
# file. Every newly published file is scanned for secrets (private keys, cloud keys, tokens,
# the values of the *_env variables here); a finding stops the sync. A false positive: paste
# the fingerprint the refusal prints.
# secrets:
#   allow: ["0123456789abcdef0123"]

# Releases: each sync works out the next version from Conventional Commits (feat: minor,
# fix: patch, feat!: major), adds a release commit that writes it into pyproject.toml and
# CHANGELOG.md, and pushes pubgate/release-vX.Y.Z. Without this section sync pushes
# pubgate/sync and leaves versions alone. The first release: 'git pubgate sync --bump none'
# publishes the version pyproject.toml declares as it is.
version:
  bump: auto
  # prerelease: rc
  # changelog: CHANGELOG.md
  # tag_prefix: v

# For git pubgate publish:
# pypi_package_name: "your-awesome-package"
# pypi_token_env: "PYPI_API_TOKEN"
# pre_publish_commands:
#   - "pytest"
"""

_ROOT_BLOCK = """\
# A monorepo: this folder of the source becomes the root of the public repository. Only
# history that touches it is published; exclude, include and version.files below are written
# relative to it. More public repositories from the same source: see "targets:" in the README.
root: "{root}/"
# Files from elsewhere in the source, placed into the public tree (source path: public path):
# move:
#   LICENSE: LICENSE

"""


def starter(root: str | None = None) -> str:
    """The commented starter ``git pubgate init`` writes; with ``root``, for one monorepo folder."""
    if root is None:
        return STARTER
    marker = "# The internal repository. Omit it"  # inside the internal block: root is internal
    return STARTER.replace(marker, _ROOT_BLOCK.format(root=root) + marker, 1)
