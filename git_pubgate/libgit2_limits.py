"""How much memory libgit2 may keep of what it reads, set once per process.

A rewrite reads each tree about once (the tree filter memoises by id) and each distinct blob
once (the content rules), so libgit2's defaults, sized for programs that revisit objects, only
hold memory: a 256 MB cache of small objects, and pack files mapped whole (a 1 GB window, up to
8 GB mapped), whose pages count in the process's resident size as it touches them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pygit2

# The cache of small objects (commits and trees; blobs are never kept): what a command asks
# for again soon stays. 32 MB took a 50,000-commit first sync's peak from 438 to 290 MB; 8 MB
# holds ~17 MB less at no measured CPU cost (10,000 commits: 127 against 144 MB).
OBJECT_CACHE_BYTES = 8 * 1024 * 1024
# Pack files are mapped in windows of this size, at most this much at once (the least recently
# used window is unmapped first). A first sync reads every blob, so without a bound the whole
# pack ends up resident: 50,000 commits, 287 against 357 MB peak (bench/README.md).
PACK_WINDOW_BYTES = 1024 * 1024
PACK_MAPPED_BYTES = 8 * 1024 * 1024
# While a walk reads a whole history's commits: about 900 bytes each in the cache, and a full
# cache evicts on every new entry. Reading the 47,152 trailers of the 50,000-commit benchmark
# cost 0.58 s of CPU under the 8 MB above, 0.45 s under 16 MB, 0.40 s under 64 MB.
WALK_CACHE_BYTES = 64 * 1024 * 1024


def bound_memory() -> None:
    """Apply the limits above to this process's libgit2 (before any repository is opened)."""
    pygit2.settings.cache_max_size(OBJECT_CACHE_BYTES)
    pygit2.settings.mwindow_size = PACK_WINDOW_BYTES
    pygit2.settings.mwindow_mapped_limit = PACK_MAPPED_BYTES


@contextmanager
def walking_history() -> Iterator[None]:
    """Room in the object cache for one walk over a whole history's commits.

    Afterwards the limit goes back to what it was, or to 8 MB above what the cache then holds
    (at most the walk's room). Not lower: under a limit below what it holds, libgit2
    evicts on every new entry, and a cache smaller than its eviction batch (an object
    database's, which holds the trees a sync reads next) is emptied each time, so every tree
    would be read twice (+0.01 s for the 488 folders of the 50,000-commit benchmark). Freeing
    the walk's commits instead costs what freeing them at exit does, paid now.
    """
    _, before = pygit2.settings.cached_memory
    if before >= WALK_CACHE_BYTES:
        yield
        return
    pygit2.settings.cache_max_size(WALK_CACHE_BYTES)
    try:
        yield
    finally:
        held, _ = pygit2.settings.cached_memory
        pygit2.settings.cache_max_size(after_walk(before, held))


def after_walk(before: int, held: int) -> int:
    """The cache's limit after a walk: ``before``, or the usual room above ``held`` (a second
    walk gives its own room back, not the first one's as well)."""
    return min(WALK_CACHE_BYTES, max(before, held + OBJECT_CACHE_BYTES))
