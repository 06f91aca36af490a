"""Every command but the hook bounds what libgit2 keeps of what it reads."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pygit2

from git_pubgate.cli import _main
from git_pubgate.libgit2_limits import (
    OBJECT_CACHE_BYTES,
    PACK_MAPPED_BYTES,
    PACK_WINDOW_BYTES,
    WALK_CACHE_BYTES,
    after_walk,
    bound_memory,
)
from git_pubgate.state import read_synced

from .factory import signature


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


def test_a_trailer_walk_has_room_in_the_cache_and_keeps_room_after_it(tmp_path: Path) -> None:
    repo = pygit2.init_repository(str(tmp_path / "public.git"), bare=True)
    tree = repo.TreeBuilder().write()
    parents: list[pygit2.Oid] = []
    for i in range(3):
        message = f"change {i}\n\nPubgate-Source: {i:040x}\n"
        parents = [repo.create_commit(None, signature(), signature(), message, tree, parents)]
    tip = str(parents[0])
    bound_memory()
    limits: list[int] = []
    walk = repo.walk

    class Watched:
        """The walker, noting the cache's limit as each commit is read."""

        def __init__(self, walker: pygit2.Walker) -> None:
            self.walker = walker

        def hide(self, oid: str) -> None:
            self.walker.hide(oid)

        def __iter__(self) -> Iterator[pygit2.Commit]:
            for commit in self.walker:
                limits.append(pygit2.settings.cached_memory[1])
                yield commit

    try:
        repo.walk = lambda *args: Watched(walk(*args))  # type: ignore[method-assign,assignment]
        synced = read_synced(repo, tip, "Pubgate-Source")
    finally:
        del repo.walk
    assert sorted(synced) == [f"{i:040x}" for i in range(3)]
    held, limit = pygit2.settings.cached_memory
    assert limit == after_walk(OBJECT_CACHE_BYTES, held) == OBJECT_CACHE_BYTES + held
    assert limits == [WALK_CACHE_BYTES] * 3


def test_after_a_walk_the_cache_keeps_its_room_above_what_it_holds() -> None:
    assert after_walk(OBJECT_CACHE_BYTES, 0) == OBJECT_CACHE_BYTES
    assert after_walk(OBJECT_CACHE_BYTES, 20 << 20) == OBJECT_CACHE_BYTES + (20 << 20)
    # Never above the walk's own room, whatever the cache holds.
    assert after_walk(OBJECT_CACHE_BYTES, WALK_CACHE_BYTES) == WALK_CACHE_BYTES
    # A second walk does not add its room to the first one's.
    first = after_walk(OBJECT_CACHE_BYTES, 20 << 20)
    assert after_walk(first, 10 << 20) == first
    assert after_walk(first, 30 << 20) == OBJECT_CACHE_BYTES + (30 << 20)
