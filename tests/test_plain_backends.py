"""Staging reads its alternates' objects through plain backends: the same objects, staging's
own first, and writes still land in staging."""

from __future__ import annotations

from pathlib import Path

import pygit2

from git_pubgate.plain_backends import use_plain_backends

from .factory import git


def _bare(path: Path, borrows: list[str] | None = None) -> pygit2.Repository:
    git("init", "-q", "--bare", str(path))
    if borrows:
        (path / "objects" / "info" / "alternates").write_text("".join(f"{b}\n" for b in borrows))
    return pygit2.Repository(str(path))


def _pack(repository: Path, oid: pygit2.Oid) -> None:
    """Move the loose object ``oid`` of ``repository`` into a pack of its own."""
    git("pack-objects", "-q", "objects/pack/pack", cwd=repository, input=f"{oid}\n".encode())
    git("prune-packed", cwd=repository)
    assert not (repository / "objects" / str(oid)[:2] / str(oid)[2:]).exists()


def _blob(repo: pygit2.Repository, text: str) -> pygit2.Oid:
    return repo.odb.write(pygit2.enums.ObjectType.BLOB, text.encode())


def test_the_same_objects_are_seen_and_writes_stay_in_staging(tmp_path: Path) -> None:
    # Staging borrows from a source (absolute path), which borrows from a shared store
    # (relative path, as `git clone --reference` may write it).
    store = _bare(tmp_path / "store.git")
    source = _bare(tmp_path / "source.git", ["../../store.git/objects"])
    staging = _bare(tmp_path / "staging.git", [str(tmp_path / "source.git" / "objects")])
    in_store, in_source = _blob(store, "shared\n"), _blob(source, "source\n")
    _pack(tmp_path / "source.git", in_source)  # the source's packed, the store's loose
    in_staging = _blob(staging, "staging\n")
    default = staging.odb
    assert use_plain_backends(staging)
    for oid in (in_store, in_source, in_staging):
        assert oid in staging and staging.odb.read(oid)[1] == default.read(oid)[1]
    # A pack the source gets afterwards (a fetch, a repack) is found too.
    later = _blob(source, "later\n")
    _pack(tmp_path / "source.git", later)
    assert staging.odb.read(later)[1] == b"later\n"
    written = _blob(staging, "new\n")
    loose = f"{written}"[:2] + "/" + f"{written}"[2:]
    assert (tmp_path / "staging.git" / "objects" / loose).is_file()
    assert not (tmp_path / "source.git" / "objects" / loose).exists()


def test_alternates_it_cannot_read_leave_the_repository_as_it_is(tmp_path: Path) -> None:
    source = tmp_path / "source.git"
    _bare(source)
    cases = {
        "plain": [],
        "quoted": [f'"{source / "objects"}"'],
        "missing": [str(tmp_path / "nowhere" / "objects")],
    }
    for name, borrows in cases.items():
        repo = _bare(tmp_path / f"{name}.git", borrows)
        assert not use_plain_backends(repo), name


def test_alternates_deeper_than_git_reads_leave_the_repository_as_it_is(tmp_path: Path) -> None:
    previous: list[str] = []
    for depth in range(8):
        _bare(tmp_path / f"r{depth}.git", previous)
        previous = [str(tmp_path / f"r{depth}.git" / "objects")]
    assert not use_plain_backends(pygit2.Repository(str(tmp_path / "r7.git")))
    assert use_plain_backends(pygit2.Repository(str(tmp_path / "r5.git")))  # as deep as git
