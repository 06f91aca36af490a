"""Every command but the hook bounds what libgit2 keeps of what it reads."""

from __future__ import annotations

import io
from pathlib import Path

import pygit2

from git_pubgate.cli import _main
from git_pubgate.libgit2_limits import (
    OBJECT_CACHE_BYTES,
    PACK_MAPPED_BYTES,
    PACK_WINDOW_BYTES,
    bound_memory,
)


def test_a_command_sets_the_limits_before_it_reads_a_repository(tmp_path: Path) -> None:
    # libgit2's own defaults (64-bit): what a process gets without the limits.
    pygit2.settings.cache_max_size(256 * 1024 * 1024)
    pygit2.settings.mwindow_size = 1024 * 1024 * 1024
    pygit2.settings.mwindow_mapped_limit = 8 * 1024 * 1024 * 1024
    try:
        out, err = io.StringIO(), io.StringIO()
        code = _main(["--config", str(tmp_path / "missing.yaml"), "sync"], out, err)
        assert code == 2 and "error:" in err.getvalue()
        assert pygit2.settings.cached_memory[1] == OBJECT_CACHE_BYTES
        assert pygit2.settings.mwindow_size == PACK_WINDOW_BYTES
        assert pygit2.settings.mwindow_mapped_limit == PACK_MAPPED_BYTES
    finally:
        bound_memory()
