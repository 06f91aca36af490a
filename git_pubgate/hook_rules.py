"""The rules the pre-push hook checks with, and the copy of them kept in ``.git/pubgate``.

A checkout of an old commit, or of a branch that never had ``pubgate.yaml``, has no
configuration, yet a push from it to the public repository must still be checked. So
``hook install`` and every sync save the rules of each target they know to
``.git/pubgate/hook-rules.json``, keyed by target and then by the configuration file they came
from (several targets, several worktrees). The hook checks a push with every rule set it knows
for that target: the checkout's configuration and the saved ones, so an older configuration in
the checkout cannot loosen what the latest sync enforced.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .config import Config, ConfigMissingError, is_local
from .errors import ConfigError, PubgateError
from .urls import repository_key, without_credentials

FILE_NAME = "hook-rules.json"
_FORMAT = 1


@dataclass(frozen=True)
class HookRules:
    """What a push to one target must not carry, and where those rules came from."""

    target: str
    exclude: tuple[str, ...] = ()
    include: tuple[str, ...] | None = None
    forbid: tuple[str, ...] = ()
    fail_on: tuple[str, ...] = ()
    origin: str = ""  # the configuration file they were read from
    # The checkout's own configuration, when the rules come from it: the hook then also runs
    # its content checks (sections, secrets), which the saved copy cannot carry.
    config: Config | None = field(default=None, compare=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "target_repo": self.target,
            "exclude": list(self.exclude),
            "include": None if self.include is None else list(self.include),
            "message_forbid": list(self.forbid),
            "authors_fail_on": list(self.fail_on),
        }


def target_key(target: str) -> str:
    """One key per repository, however its location is spelled."""
    if is_local(target):
        return "path:" + str(Path(target.removeprefix("file://")).resolve())
    return repository_key(target)


def from_config(config: Config) -> list[HookRules]:
    """The rule sets of a configuration: one per target it publishes to (the file itself, or
    each of its ``targets``)."""
    return [
        HookRules(
            # A password in the URL is never copied to disk; matching ignores users anyway.
            target=without_credentials(target.target_repo),
            exclude=target.exclude,
            include=target.include,
            forbid=target.forbid,
            fail_on=target.authors_fail_on,
            origin=_origin(target),
            config=target,
        )
        for target in config.targets or (config,)
        if target.target_repo
    ]


def _origin(config: Config) -> str:
    """Where a rule set comes from: the file, and the target's name in a file with targets."""
    return f"{config.path}::{config.name}" if config.name else str(config.path)


def saved_file(git_dir: Path) -> Path:
    return git_dir / "pubgate" / FILE_NAME


def load(git_dir: Path) -> list[HookRules]:
    """Every rule set saved in ``git_dir`` (empty when none was saved yet)."""
    path = saved_file(git_dir)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as e:
        raise PubgateError(
            f"the saved hook rules in {path} are unreadable: {e}",
            "run 'git pubgate hook install' (or a sync) in a checkout with pubgate.yaml to "
            "save them again",
        ) from e
    try:
        return _parse(data)
    except (KeyError, TypeError, AttributeError) as e:
        raise PubgateError(
            f"the saved hook rules in {path} are not in the expected form",
            "run 'git pubgate hook install' (or a sync) in a checkout with pubgate.yaml to "
            "save them again",
        ) from e


def _strings(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise TypeError("expected a list of strings")
    return tuple(value)


def _parse(data: Any) -> list[HookRules]:
    rules = []
    for by_origin in data["targets"].values():
        for origin, entry in by_origin.items():
            include = entry["include"]
            rules.append(
                HookRules(
                    target=str(entry["target_repo"]),
                    exclude=_strings(entry["exclude"]),
                    include=None if include is None else _strings(include),
                    forbid=_strings(entry["message_forbid"]),
                    fail_on=_strings(entry["authors_fail_on"]),
                    origin=str(origin),
                )
            )
    return rules


def save(git_dir: Path, config: Config) -> None:
    """Record ``config``'s rules for the hook, replacing what the same file (or, for one
    target of it, the same target) saved before.

    Written to a temporary file and renamed, so a killed run leaves the old copy or the new
    one, never half of one; unchanged rules are not rewritten.
    """
    path = saved_file(git_dir)
    fresh = from_config(config)

    # One target of a file (a sync of that target) replaces only its own entry; the whole
    # file replaces whatever it saved before, targets it no longer has included.
    def replaced(origin: str) -> bool:
        if config.name:
            return origin == _origin(config)
        return origin == str(config.path) or origin.startswith(f"{config.path}::")

    try:
        kept = [r for r in load(git_dir) if not replaced(r.origin)]
    except PubgateError:
        kept = []  # unreadable: this save replaces it
    targets: dict[str, dict[str, Any]] = {}
    for rule in [*kept, *fresh]:
        targets.setdefault(target_key(rule.target), {})[rule.origin] = rule.to_json()
    text = json.dumps({"format": _FORMAT, "targets": targets}, indent=2, sort_keys=True) + "\n"
    with contextlib.suppress(FileNotFoundError):
        if path.read_text(encoding="utf-8") == text:
            return
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    except OSError as e:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise PubgateError(
            f"cannot save the pre-push hook's rules to {path}: {e}",
            "free disk space or fix the permissions of .git/pubgate, then rerun",
        ) from e


def common_git_dir(repo_dir: Path) -> Path:
    """The git directory that worktrees share, where ``.git/pubgate`` lives."""
    out = subprocess.run(
        ["git", "rev-parse", "--git-common-dir"],
        cwd=repo_dir,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    return (repo_dir / out).resolve()


def rules_for_hook(
    repo_dir: Path, load_config: Callable[[], Config]
) -> tuple[list[HookRules], ConfigError | None]:
    """The checkout's rules and the saved ones, and why the checkout's could not be read.

    A checkout without a configuration is normal (an old commit, another branch): the saved
    rules stand in. A broken configuration with nothing saved is refused, since nothing then
    says which remote is public.
    """
    saved = load(common_git_dir(repo_dir))
    try:
        return [*from_config(load_config()), *saved], None
    except ConfigMissingError as e:
        return saved, e
    except ConfigError as e:
        if not saved:
            raise
        return saved, e
