"""tree_files.write_tree: a hostile tree can never write outside the folder it is given."""

from __future__ import annotations

from pathlib import Path

import pygit2
import pytest

from git_pubgate.errors import PubgateError
from git_pubgate.tree_files import write_tree

from .test_hostile import TREE, raw_commit

LINK = b"120000"


def commit_of(repo: pygit2.Repository, data: bytes) -> str:
    tree = repo.odb.write(TREE, data)
    return str(raw_commit(repo, tree, [], b"1600000000 +0000", b"m\n"))


def test_a_symlink_and_a_folder_of_the_same_name_cannot_write_through_the_link(
    tmp_path: Path,
) -> None:
    """Entry ``a`` a symlink to a folder outside, then entry ``a`` a folder holding ``x``
    (a tree with duplicate names): the second is refused, nothing lands outside."""
    outside = tmp_path / "outside"
    outside.mkdir()
    repo = pygit2.init_repository(str(tmp_path / "repo"), bare=True)
    link = repo.create_blob(str(outside).encode())
    inner = repo.odb.write(TREE, b"100644 x\0" + repo.create_blob(b"pwned\n").raw)
    commit = commit_of(repo, LINK + b" a\0" + link.raw + b"40000 a\0" + inner.raw)
    into = tmp_path / "into"
    into.mkdir()
    with pytest.raises(PubgateError, match="names it twice"):
        write_tree(repo, commit, into)
    assert list(outside.iterdir()) == []


@pytest.mark.parametrize("name", [b"..", b".git", b".GIT", b"git~1"])
def test_names_git_refuses_are_refused(tmp_path: Path, name: bytes) -> None:
    repo = pygit2.init_repository(str(tmp_path / "repo"), bare=True)
    inner = repo.odb.write(TREE, b"100644 x\0" + repo.create_blob(b"x\n").raw)
    commit = commit_of(repo, b"40000 " + name + b"\0" + inner.raw)
    into = tmp_path / "into"
    into.mkdir()
    with pytest.raises(PubgateError, match="refusing to write"):
        write_tree(repo, commit, into)
    assert not (tmp_path / "x").exists() and list(into.iterdir()) == []


def test_entries_are_written_as_git_reads_their_modes(tmp_path: Path) -> None:
    """Modes no git writes, read by their type bits as git does: ``120755`` is a symlink (which
    libgit2 reads as an executable file), ``40700`` a folder, ``100600`` a plain file."""
    repo = pygit2.init_repository(str(tmp_path / "repo"), bare=True)
    inner = repo.odb.write(TREE, b"100755 run.sh\0" + repo.create_blob(b"#!/bin/sh\n").raw)
    commit = commit_of(
        repo,
        b"100600 a.txt\0"
        + repo.create_blob(b"a\n").raw
        + b"40700 bin\0"
        + inner.raw
        + b"120755 link\0"
        + repo.create_blob(b"a.txt").raw,
    )
    into = tmp_path / "into"
    into.mkdir()
    assert write_tree(repo, commit, into) == 3
    assert (into / "link").is_symlink() and str((into / "link").readlink()) == "a.txt"
    assert (into / "a.txt").read_text() == "a\n" and not (into / "a.txt").stat().st_mode & 0o111
    assert (into / "bin" / "run.sh").stat().st_mode & 0o100


def test_a_gitmodules_symlink_in_an_odd_spelling_is_refused(tmp_path: Path) -> None:
    repo = pygit2.init_repository(str(tmp_path / "repo"), bare=True)
    commit = commit_of(repo, b"120755 .gitmodules\0" + repo.create_blob(b"elsewhere").raw)
    into = tmp_path / "into"
    into.mkdir()
    with pytest.raises(PubgateError, match=r"'\.gitmodules' as a symlink"):
        write_tree(repo, commit, into)
    assert list(into.iterdir()) == []
