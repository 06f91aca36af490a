"""A target's public layout (``root`` and ``move``) for one run, checked against the source.

Mistakes in the layout are configuration errors (exit 2) found before anything is rewritten:
a root folder or moved path the source branch does not have, or a move that would land on a
path the root folder already holds.
"""

from __future__ import annotations

from collections.abc import Callable

import pygit2

from .config import Config
from .errors import ConfigError
from .objects import is_tree_mode
from .path_trees import SharedTrees, SourceTrees, TreeMapper
from .paths import PathMap, overlaps
from .workspace import Source


def path_map(config: Config) -> PathMap:
    return PathMap.of(config.root, config.move)


def public_layout(
    config: Config, source: Source, staging: pygit2.Repository, shared: SharedTrees | None = None
) -> TreeMapper | None:
    """The mapper of source trees into ``config``'s public layout; None when it is the same."""
    paths = path_map(config)
    if paths.is_identity:
        return None
    # Alone, read through staging: it also sees trees written there (absorb's internal ones).
    reader = shared.of(source.repo, source.git_dir) if shared else SourceTrees(staging.odb)
    mapper = TreeMapper(reader, paths, staging)
    tip_tree = bytes(source.repo[source.tip].peel(pygit2.Commit).tree_id.raw)
    where = f"{config.path}" + (f" (target {config.name})" if config.name else "")
    if not mapper.root_exists(tip_tree):
        raise ConfigError(
            f"root {config.root}/ does not exist on {source.branch}",
            f"set root to a folder of {source.branch} in {where}",
        )
    for (src, dst), (src_text, dst_text) in zip(paths.moves, config.move, strict=True):
        found = reader.entry(tip_tree, src)
        if found is None:
            raise ConfigError(
                f"move {src_text} -> {dst_text}: {src_text} does not exist on {source.branch}",
                f"fix or remove that move in {where}",
            )
        under_root = f"{config.root}/{dst_text}" if config.root else dst_text
        vacated = any(overlaps(under_root.encode(), moved) for moved, _ in paths.moves)
        if mapper.public_path_exists(tip_tree, dst) and not vacated:
            kind = "folder" if is_tree_mode(found[0]) else "file"
            raise ConfigError(
                f"move {src_text} -> {dst_text} collides with {under_root}, "
                f"which the root folder already holds",
                f"move the {kind} to another public path, or remove one of the two ({where})",
            )
    return mapper


def chain(
    first: Callable[[bytes], bytes] | None, then: Callable[[bytes], bytes] | None
) -> Callable[[bytes], bytes] | None:
    """Both tree transforms, ``first`` applied first (either may be absent)."""
    if first is None or then is None:
        return first or then
    return lambda tree: then(first(tree))
