from __future__ import annotations

from pathlib import Path

import pygit2

from git_pubgate.objects import MAX_DELTA_DEPTH, OBJ_TREE, PackWriter, RawCommit

from .factory import git


def test_pack_of_delta_chains_reads_back_exactly(tmp_path: Path) -> None:
    repo = pygit2.init_repository(str(tmp_path / "r.git"), bare=True)
    blob = repo.create_blob(b"x")
    # Big enough that copies span several 64 KiB delta instructions.
    names = [b"f%05d" % i for i in range(2500)]  # 77 KB: copies need two instructions
    writer = PackWriter(Path(repo.path))
    versions = []
    base: tuple[bytes, bytes] | None = None
    for step in range(MAX_DELTA_DEPTH * 2 + 5):
        # Each version drops one entry, a little further on: neighbours differ in two entries.
        kept = [n for i, n in enumerate(names) if i != 23 * step]
        data = b"".join(b"100644 " + n + b"\0" + blob.raw for n in kept)
        if base is None:
            oid = writer.add(OBJ_TREE, data)
        else:
            old = base[1]
            start = next(i for i in range(min(len(old), len(data))) if old[i] != data[i])
            end = 0
            while end < min(len(old), len(data)) - start and old[-1 - end] == data[-1 - end]:
                end += 1
            oid = writer.add_delta(OBJ_TREE, data, base[0], old, (start, end))
        versions.append((oid, data))
        base = (oid, data)
    writer.commit()
    for oid, data in versions:
        assert repo.odb.read(pygit2.Oid(raw=oid))[1] == data
    listing = git(
        "verify-pack", "-v", *map(str, (tmp_path / "r.git" / "objects" / "pack").glob("*.idx"))
    )
    depths = [
        int(line.split()[5])
        for line in listing.splitlines()
        if " delta " not in line and len(line.split()) == 7
    ]
    assert depths and max(depths) <= MAX_DELTA_DEPTH
    git("fsck", "--strict", "--no-progress", cwd=tmp_path / "r.git")


def test_commit_headers_round_trip() -> None:
    raw = (
        b"tree " + b"1" * 40 + b"\nparent " + b"2" * 40 + b"\nauthor A <a> 1 +0000\n"
        b"committer C <c> 2 +0000\nx-custom v\n continued\n\nmsg\n"
    )
    commit = RawCommit.parse(raw)
    assert commit.tree == "1" * 40 and commit.parents == ("2" * 40,)
    assert commit.serialise(commit.tree, list(commit.parents), commit.message) == raw
