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
