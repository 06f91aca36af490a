"""What a configuration publishes: path rules with the safe defaults, and the content policy.

One place builds them for ``sync``/``plan``, ``audit`` and the pre-push hook, so the three can
never disagree about what may leave.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from .config import Config
from .content import ConfigFile, ContentPolicy
from .gitio import split_credential
from .rules import Rules
from .secrets import SecretScanner

# The usual secret files, held back unless the config re-includes them with a ``!`` pattern.
# Not ``internal/``: Go uses that name for public code.
DEFAULT_EXCLUDES = (
    "*.pem",
    "*.key",
    "id_rsa*",
    "id_ed25519*",
    "!id_rsa*.pub",
    "!id_ed25519*.pub",
    "*.p12",
    "*.pfx",
    ".env",
    ".env.*",
    "!.env.example",
    "!.env.sample",
    "!.env.template",
    ".pypirc",
    ".netrc",
    "*.kdbx",
)
_GLOB_SPECIALS = "*?[]!#\\ "


def _literal(path: str) -> str:
    """An anchored gitignore pattern that matches exactly ``path``."""
    return "/" + "".join("\\" + c if c in _GLOB_SPECIALS else c for c in path)


class WorkTree(Protocol):
    """What the policy needs of the source repository (a ``pygit2.Repository`` is one; the
    pre-push hook, which does not load libgit2, passes its checkout's directory)."""

    @property
    def workdir(self) -> str | None: ...


def config_in_tree(config: Config, repo: WorkTree) -> ConfigFile | None:
    """The configuration's path in the source tree, when sync read it from there."""
    if repo.workdir is None:
        return None
    root = Path(repo.workdir).resolve()
    try:
        relative = config.path.resolve().relative_to(root)
    except ValueError:
        return None
    kind = "pyproject" if config.path.name == "pyproject.toml" else "yaml"
    path = relative.as_posix()
    if config.root:
        # The rules see public-layout paths: relative to root, or where a move puts the file.
        moved = dict(config.move)
        prefix = config.root.rstrip("/") + "/"
        if path in moved:
            path = moved[path]
        elif path.startswith(prefix):
            path = path[len(prefix) :]
        else:
            return None  # outside the public root: never published
    return ConfigFile(path.encode("utf-8", "surrogateescape"), kind)


@dataclass(frozen=True)
class Policy:
    rules: Rules
    user_rules: Rules  # the configured rules alone: what is held back "by default" is the rest
    content: ContentPolicy | None
    config_file: ConfigFile | None

    def by_default(self, paths: Iterable[str]) -> list[str]:
        """The held-back paths that only the defaults (or the config-file rule) hold back."""
        # A held-back directory (``deploy/``) is asked about as a file inside it.
        return sorted(
            p
            for p in paths
            if self.user_rules.is_public(
                (p + "x" if p.endswith("/") else p).encode("utf-8", "surrogateescape")
            )
        )

    @property
    def fingerprint(self) -> str:
        return self.content.fingerprint if self.content is not None else ""


def build(
    config: Config,
    repo: WorkTree,
    *,
    environ: Mapping[str, str] | None = None,
    scan: bool = True,
) -> Policy:
    """The rules and content policy of ``config`` for the source ``repo``.

    Args:
        environ: where the configured token variables' values are read (default: os.environ).
        scan: False leaves the secret scan out whatever the config says (plan's "would refuse"
            still comes from sync).
    """
    config_file = config_in_tree(config, repo)
    exclude: list[str] = list(DEFAULT_EXCLUDES) if config.defaults else []
    if config_file is not None and (config_file.kind == "yaml" and not config.publish_config):
        exclude.append(_literal(config_file.path.decode("utf-8", "surrogateescape")))
    exclude += config.exclude
    scanner = None
    if config.secrets_scan and scan:
        env = os.environ if environ is None else environ
        tokens = [(name, env[name]) for name in config.token_envs if env.get(name)]
        # A USER:TOKEN value (Bitbucket) leaks as its token alone just as well.
        tokens += [(name, split_credential(value)[1]) for name, value in tokens if ":" in value]
        scanner = SecretScanner(tokens, config.secrets_allow)
    content = ContentPolicy(
        replacements=config.replace,
        scanner=scanner,
        defaults=config.defaults,
        user_exclude=config.exclude,
        config_file=config_file,
    )
    return Policy(
        Rules.compile(exclude, config.include),
        Rules.compile(config.exclude, config.include),
        content,
        config_file,
    )
