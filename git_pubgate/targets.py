"""Many targets in one configuration: pick them, run a command for each, keep failures apart.

``sync.py`` runs one target; this layer runs several in turn. One target failing does not stop
the others: its ``error:``/``hint:`` pair is printed with the target's name in front, and the
exit code is the worst of them all.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import pygit2

from .config import Config, normalise_url
from .errors import EXIT_OK, ConfigError, PubgateError


def select(config: Config, names: Sequence[str] | None) -> list[Config]:
    """The targets a command runs for: those named by ``--target``, else every one."""
    if not config.targets:
        if names:
            raise ConfigError(
                f"--target {names[0]}: {config.path} has no targets",
                "--target picks one entry of a targets: section; without one, leave it out",
            )
        return [config]
    by_name = {str(t.name): t for t in config.targets}
    if not names:
        return list(config.targets)
    chosen: list[Config] = []
    for name in names:
        target = by_name.get(name)
        if target is None:
            raise ConfigError(
                f"unknown target {name!r}",
                f"the targets in {config.path} are: {', '.join(by_name)}",
            )
        if target not in chosen:
            chosen.append(target)
    return chosen


def for_checkout(config: Config, cwd: Path, names: Sequence[str] | None) -> list[Config]:
    """The target a command about one public repository (publish) runs for.

    ``--target`` names it; else, in a clone of one target's repository, that target.
    """
    if names or not config.targets:
        return select(config, names)
    if len(config.targets) == 1:
        return list(config.targets)
    found = pygit2.discover_repository(str(cwd))
    urls: set[str] = set()
    if found is not None:
        repo = pygit2.Repository(found)
        urls = {normalise_url(r.url) for r in repo.remotes if r.url}
        urls.add(normalise_url(str(Path(repo.path).resolve())))
        if repo.workdir:
            urls.add(normalise_url(str(Path(repo.workdir).resolve())))
    matching = [t for t in config.targets if t.target_repo and normalise_url(t.target_repo) in urls]
    if len(matching) == 1:
        return matching
    raise ConfigError(
        f"{config.path} has {len(config.targets)} targets and this is not a clone of one of them",
        "name one with --target NAME (git pubgate targets lists them)",
    )


@dataclass
class Outcome:
    """What one target's run ended with."""

    name: str
    code: int
    data: dict[str, Any] | None = None  # the command's --json object for this target
    summary: str = ""
    error: PubgateError | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "exit_code": self.code}
        if self.data is not None:
            out.update(self.data)
        if self.error is not None:
            out["error"] = {"message": self.error.message, "hint": self.error.hint}
        return out


# One target's run: its exit code, its --json object and its one-line summary.
Step = Callable[[Config], tuple[int, dict[str, Any] | None, str]]


def run_each(configs: Sequence[Config], step: Step, err: TextIO) -> list[Outcome]:
    """Run ``step`` for every target; a failure is reported and the next target runs."""
    outcomes = []
    for config in configs:
        name = str(config.name)
        try:
            code, data, summary = step(config)
        except PubgateError as e:
            err.write(f"error: {name}: {e.message}\n")
            if e.hint:
                err.write(f"hint: {name}: {e.hint}\n")
            outcomes.append(Outcome(name, e.exit_code, None, f"failed: {e.message}", e))
            continue
        outcomes.append(Outcome(name, code, data, summary))
    return outcomes


def worst(outcomes: Sequence[Outcome]) -> int:
    """The exit code of a run of many targets: the worst one (0 < 1 < 2 < 3)."""
    return max((o.code for o in outcomes), default=EXIT_OK)


def listing(config: Config) -> dict[str, Any]:
    """``git pubgate targets --json``: each target, and the names alone for a CI matrix."""
    targets = config.targets or ()
    return {
        "names": [t.name for t in targets],
        "targets": [
            {
                "name": t.name,
                "root": f"{t.root}/" if t.root else "",
                "target_repo": t.target_repo,
                "review_branch": t.review_branch,
                "state_dir": f".git/pubgate/targets/{t.name}",
            }
            for t in targets
        ],
    }
