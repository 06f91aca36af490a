"""Histories nobody should have, synced without a traceback and without losing a byte."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pygit2

from .conftest import pubgate
from .factory import git

BLOB = pygit2.enums.ObjectType.BLOB
TREE = pygit2.enums.ObjectType.TREE
COMMIT = pygit2.enums.ObjectType.COMMIT


def raw_tree(repo: pygit2.Repository, entries: dict[bytes, tuple[bytes, pygit2.Oid]]) -> pygit2.Oid:
    # git sorts tree entries by name, directories as if they ended in "/".
    def key(item: tuple[bytes, tuple[bytes, pygit2.Oid]]) -> bytes:
        name, (mode, _) = item
        return name + b"/" if mode == b"40000" else name

    data = b"".join(
        mode + b" " + name + b"\0" + oid.raw
        for name, (mode, oid) in sorted(entries.items(), key=key)
    )
    return repo.odb.write(TREE, data)


def raw_commit(
    repo: pygit2.Repository,
    tree: pygit2.Oid,
    parents: list[pygit2.Oid],
    when: bytes,
    message: bytes,
) -> pygit2.Oid:
    lines = [b"tree %s\n" % str(tree).encode()]
    lines += [b"parent %s\n" % str(p).encode() for p in parents]
    lines += [b"author Zo\xeb <z@x> " + when + b"\n", b"committer Zo\xeb <z@x> " + when + b"\n"]
    return repo.odb.write(COMMIT, b"".join(lines) + b"\n" + message)


def test_hostile_names_dates_messages_and_shapes(tmp_path: Path) -> None:
    repo = pygit2.init_repository(str(tmp_path / "src"), bare=True)
    blob = repo.create_blob(b"x\n")
    odd_names = [
        b"new\nline.txt",
        b"back\\slash.txt",
        b"-dash.txt",
        b"--upload-pack=evil",
        b"caf\xe9.txt",
        b" leading space",
    ]
    secret_dir = raw_tree(repo, {b"secret.txt": (b"100644", blob)})
    many = raw_tree(
        repo, {b"f%05d" % i: (b"100644", repo.create_blob(b"%d" % i)) for i in range(10_000)}
    )
    entries = {name: (b"100644", blob) for name in odd_names}
    entries[b"internal"] = (b"40000", secret_dir)
    entries[b"many"] = (b"40000", many)
    root = raw_commit(repo, raw_tree(repo, entries), [], b"-100000 +0000", b"before 1970\n")
    junk = bytes(b for b in range(1, 256) if b != 0x0A) + b"\n"
    future = raw_commit(
        repo,
        raw_tree(repo, {**entries, b"later": (b"100644", blob)}),
        [root],
        b"32503680000 +1400",
        junk,
    )
    sides = []
    for i in range(99):
        tree = raw_tree(repo, {**entries, b"side%02d" % i: (b"100644", blob)})
        sides.append(raw_commit(repo, tree, [future], b"1600000000 +0000", b"side %d\n" % i))
    merged = {**entries, **{b"side%02d" % i: (b"100644", blob) for i in range(99)}}
    octopus = raw_commit(
        repo,
        raw_tree(repo, merged),
        [future, *sides],
        b"1600000001 +0000",
        b"Merge 100 lines of work\n",
    )
    repo.references.create("refs/heads/main", octopus)
    repo.set_head("refs/heads/main")

    target = tmp_path / "public.git"  # not fsck --strict'ed: hostile input stays hostile
    git("init", "-q", "--bare", "-b", "main", str(target))
    (tmp_path / "pubgate.yaml").write_text(
        json.dumps(
            {"target_repo": str(target), "exclude": ["internal/"], "message": {"trailer": False}}
        )
    )
    result = pubgate(
        "--config",
        str(tmp_path / "pubgate.yaml"),
        "--json",
        "sync",
        "--no-pr",
        cwd=tmp_path / "src",
    )
    assert result.code == 0, result.err
    public = pygit2.Repository(str(target))
    tip = public.references["refs/heads/pubgate/sync"].peel(pygit2.Commit)
    assert len(tip.parent_ids) == 100
    names = set(public[tip.tree_id].peel(pygit2.Tree)[name].name for name in [])
    listing = git("ls-tree", "-z", "--name-only", str(tip.id), cwd=target).split("\0")
    names = {n.encode("utf-8", "surrogateescape") for n in listing if n}
    assert set(odd_names) <= names and b"internal" not in names and b"many" in names
    later = public[tip.parent_ids[0]].peel(pygit2.Commit)
    raw = public.odb.read(later.id)[1]
    assert b"author Zo\xeb <z@x> 32503680000 +1400\n" in raw and raw.endswith(junk)
    first = public.odb.read(later.parent_ids[0])[1]
    assert b"committer Zo\xeb <z@x> -100000 +0000\n" in first
    # Trailer off and only internal/ gone: the rest is the very same objects.
    assert public[tip.tree_id].peel(pygit2.Tree)["many"].id == many


def test_a_50_mb_blob_and_duplicate_tree_entries(tmp_path: Path) -> None:
    """A 50 MB file goes out byte for byte (blobs are never read: only trees are rewritten).
    A tree with duplicate entries is kept byte for byte too; a target that checks objects
    (receive.fsckObjects, as GitHub does) refuses it, and sync says so in one clear error."""
    repo = pygit2.init_repository(str(tmp_path / "src"), bare=True)
    big = repo.create_blob(os.urandom(50 * 1024 * 1024))
    secret = repo.create_blob(b"internal\n")
    one, two = repo.create_blob(b"one\n"), repo.create_blob(b"two\n")
    duplicated = repo.odb.write(
        TREE, b"100644 a\0" + one.raw + b"100644 a\0" + two.raw + b"100644 z\0" + one.raw
    )
    internal = raw_tree(repo, {b"big-dump.bin": (b"100644", secret)})
    first = raw_commit(
        repo,
        raw_tree(repo, {b"big.bin": (b"100644", big), b"internal": (b"40000", internal)}),
        [],
        b"1600000000 +0000",
        b"add a big file\n",
    )
    second = raw_commit(
        repo,
        raw_tree(
            repo,
            {
                b"big.bin": (b"100644", big),
                b"internal": (b"40000", internal),
                b"odd": (b"40000", duplicated),
            },
        ),
        [first],
        b"1600000060 +0000",
        b"add a tree git fsck calls broken\n",
    )
    repo.references.create("refs/heads/main", second)
    repo.set_head("refs/heads/main")

    def sync(target: Path) -> tuple[int, str]:
        config = tmp_path / "pubgate.yaml"
        config.write_text(json.dumps({"target_repo": str(target), "exclude": ["internal/"]}))
        result = pubgate("--config", str(config), "sync", "--no-pr", cwd=tmp_path / "src")
        return result.code, result.err

    plain = tmp_path / "plain.git"  # not fsck'ed: it holds what the source holds
    git("init", "-q", "--bare", "-b", "main", str(plain))
    code, err = sync(plain)
    assert code == 0, err
    public = pygit2.Repository(str(plain))
    tip = public.references["refs/heads/pubgate/sync"].peel(pygit2.Commit)
    assert tip.tree["big.bin"].id == big and "internal" not in tip.tree
    assert tip.tree["odd"].id == duplicated

    checking = tmp_path / "checking.git"
    git("init", "-q", "--bare", "-b", "main", str(checking))
    git("config", "receive.fsckObjects", "true", cwd=checking)
    code, err = sync(checking)
    lines = err.strip().splitlines()
    assert code == 1 and len(lines) == 2
    assert "duplicateEntries: contains duplicate file entries" in lines[0]
    assert lines[1].startswith("hint: nothing reached the target")
    assert f"refused {str(duplicated)[:12]}, an object of the source history" in lines[1]
    assert "'git fsck --strict' in the source names it" in lines[1]
