"""How much memory libgit2 may keep of what it reads, set once per process.

A rewrite reads each tree about once (the tree filter memoises by id) and each distinct blob
once (the content rules), so libgit2's defaults, sized for programs that revisit objects, only
hold memory: a 256 MB cache of small objects, and pack files mapped whole (a 1 GB window, up to
8 GB mapped), whose pages count in the process's resident size as it touches them.
"""

from __future__ import annotations

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


def bound_memory() -> None:
    """Apply the limits above to this process's libgit2 (before any repository is opened)."""
    pygit2.settings.cache_max_size(OBJECT_CACHE_BYTES)
    pygit2.settings.mwindow_size = PACK_WINDOW_BYTES
    pygit2.settings.mwindow_mapped_limit = PACK_MAPPED_BYTES
