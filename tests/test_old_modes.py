"""Histories written by old git: directory modes spelled ``040000``, blobs with ``100664``.

git fast-import normalises modes, so these trees are written with ``odb.write``. git reads both
spellings as the same entry: ``git diff-tree`` sees no change between them, git-filter-repo
prunes a commit whose only public difference is the spelling, and ``git fsck --strict`` (and a
target with ``receive.fsckObjects``) refuses any new object that uses the old spelling.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pygit2
import pytest

from .conftest import PublicRepos, pubgate
from .factory import git
from .test_rewrite import filter_repo

TREE = pygit2.enums.ObjectType.TREE
COMMIT = pygit2.enums.ObjectType.COMMIT
DIR_MODES = (b"40000", b"040000")


class OldGit:
    """Writes trees and commits byte for byte, in any spelling."""

    def __init__(self, path: Path):
        self.repo = pygit2.init_repository(str(path), bare=True)
        self.path = path
        self._clock = 1_600_000_000

    def blob(self, text: str) -> pygit2.Oid:
        return self.repo.create_blob(text.encode())

    def tree(self, entries: dict[str, tuple[bytes, pygit2.Oid]]) -> pygit2.Oid:
        # git sorts entries by name, directories as if their name ended in "/".
        def key(name: str) -> bytes:
            return name.encode() + (b"/" if entries[name][0] in DIR_MODES else b"")

        data = b"".join(
            entries[name][0] + b" " + name.encode() + b"\0" + entries[name][1].raw
            for name in sorted(entries, key=key)
        )
        return self.repo.odb.write(TREE, data)

    def commit(self, subject: str, tree: pygit2.Oid, *parents: pygit2.Oid) -> pygit2.Oid:
        self._clock += 60
        when = f"{self._clock} +0000".encode()
        lines = [b"tree %s\n" % str(tree).encode()]
        lines += [b"parent %s\n" % str(p).encode() for p in parents]
        lines += [b"author Old Git <old@example.org> " + when + b"\n"]
        lines += [b"committer Old Git <old@example.org> " + when + b"\n"]
        return self.repo.odb.write(COMMIT, b"".join(lines) + b"\n" + subject.encode() + b"\n")

    def point(self, commit: pygit2.Oid) -> None:
        self.repo.references.create("refs/heads/main", commit, force=True)
        self.repo.set_head("refs/heads/main")


def respelled_history(old: OldGit) -> dict[str, pygit2.Oid]:
    """Old spellings only in root trees, which excluding ``internal/`` rewrites in every commit.

    main: A - B - C - D - M - E - M2 - H, with C the commit that changes only internal/ while
    respelling the public directories as git writes them now; a side branch F1 - F2 from B is
    merged across that point (M), and G (from D, internal/ only) makes M2 degenerate.
    """

    def root(spelling: bytes, readme: bytes, **dirs: pygit2.Oid) -> pygit2.Oid:
        entries = {name: (spelling, oid) for name, oid in dirs.items()}
        return old.tree({"README": (readme, old.blob("read me\n")), **entries})

    def folder(**files: str) -> pygit2.Oid:
        return old.tree({name: (b"100644", old.blob(text)) for name, text in files.items()})

    src = [folder(**{"a.py": f"a = {i}\n"}) for i in range(5)]
    docs = [folder(**{"guide.md": f"guide {i}\n"}) for i in range(3)]
    internal = [folder(**{"secret.txt": f"secret {i}\n"}) for i in range(6)]
    old_dir, new_dir, old_blob, new_blob = b"040000", b"40000", b"100664", b"100644"
    c: dict[str, pygit2.Oid] = {}

    def at(name: str, tree: pygit2.Oid, *parents: str) -> None:
        c[name] = old.commit(name, tree, *(c[p] for p in parents))

    at("A", root(old_dir, old_blob, docs=docs[0], internal=internal[0], src=src[0]))
    at("B", root(old_dir, old_blob, docs=docs[0], internal=internal[0], src=src[1]), "A")
    at("C", root(new_dir, new_blob, docs=docs[0], internal=internal[1], src=src[1]), "B")
    at("F1", root(old_dir, old_blob, docs=docs[1], internal=internal[0], src=src[1]), "B")
    at("F2", root(old_dir, old_blob, docs=docs[1], internal=internal[2], src=src[1]), "F1")
    at("D", root(new_dir, new_blob, docs=docs[0], internal=internal[1], src=src[2]), "C")
    at("M", root(new_dir, new_blob, docs=docs[1], internal=internal[2], src=src[2]), "D", "F2")
    at("E", root(new_dir, new_blob, docs=docs[1], internal=internal[3], src=src[2]), "M")
    at("G", root(old_dir, old_blob, docs=docs[0], internal=internal[4], src=src[2]), "D")
    at("M2", root(new_dir, new_blob, docs=docs[1], internal=internal[4], src=src[2]), "E", "G")
    at("H", root(old_dir, old_blob, docs=docs[1], internal=internal[5], src=src[3]), "M2")
    return c


def sync(src: Path, target: Path, *, trailer: bool = True) -> tuple[int, str]:
    config = {"target_repo": str(target), "exclude": ["/internal/"]}
    if not trailer:
        config["message"] = {"trailer": False}  # type: ignore[assignment]
    (src.parent / "pubgate.yaml").write_text(json.dumps(config))
    result = pubgate("--config", str(src.parent / "pubgate.yaml"), "sync", "--no-pr", cwd=src)
    return result.code, result.err


def checking_target(public: PublicRepos, name: str) -> Path:
    target = public.bare(name)
    git("config", "receive.fsckObjects", "true", cwd=target)
    return target


def counts(repo: Path, tip: str) -> tuple[str, str]:
    every = git("rev-list", "--count", tip, cwd=repo).strip()
    merges = git("rev-list", "--count", "--min-parents=2", tip, cwd=repo).strip()
    return every, merges


def test_respelled_history_is_pruned_as_filter_repo_prunes_and_passes_fsck(
    tmp_path: Path, public: PublicRepos
) -> None:
    old = OldGit(tmp_path / "src")
    commits = respelled_history(old)
    old.point(commits["H"])
    # git itself sees no difference at C but in internal/: the spelling of a mode is no change.
    changed = git(
        "diff-tree", "-r", "--name-only", str(commits["B"]), str(commits["C"]), cwd=old.path
    )
    assert changed.split() == ["internal/secret.txt"]

    target = checking_target(public, "public.git")
    code, err = sync(old.path, target, trailer=False)
    assert code == 0, err  # the target checks every object, as GitHub does
    ours = git("rev-parse", "pubgate/sync", cwd=target).strip()

    filter_repo(old.path, tmp_path / "fr.git", ["--path", "internal/", "--invert-paths"])
    theirs = git("rev-parse", "main", cwd=tmp_path / "fr.git").strip()
    assert counts(target, ours) == counts(tmp_path / "fr.git", theirs) == ("6", "1")
    # Trees written as git writes them, so with the trailer off: the very same commits.
    assert ours == theirs

    # No public commit repeats its parent's entries (as git compares them).
    for line in git("rev-list", "--parents", "--max-parents=1", ours, cwd=target).splitlines():
        commit, *parents = line.split()
        if parents:
            diff = ["git", "diff-tree", "--quiet", parents[0], commit]
            assert subprocess.run(diff, cwd=target, check=False).returncode == 1, commit


def test_respelled_history_gives_the_same_ids_incrementally(
    tmp_path: Path, public: PublicRepos
) -> None:
    old = OldGit(tmp_path / "src")
    commits = respelled_history(old)
    scratch = checking_target(public, "scratch.git")
    old.point(commits["H"])
    code, err = sync(old.path, scratch)
    assert code == 0, err
    expected = git("rev-parse", "pubgate/sync", cwd=scratch).strip()
    shutil.rmtree(old.path / "pubgate")  # the staging repository and its cache

    target = checking_target(public, "public.git")
    # Merged after each run, so each run starts from it: the respelling (C) is pruned against
    # a commit published by the run before, and the run to H finds both public parents of the
    # degenerate merge M2 (M and D) published by earlier runs.
    for step in ("B", "C", "D", "M", "H"):
        old.point(commits[step])
        code, err = sync(old.path, target)
        assert code == 0, err
        head = git("rev-parse", "pubgate/sync", cwd=target).strip()
        git("update-ref", "refs/heads/main", head, cwd=target)
    assert head == expected


def respelled_kept_trees(old: OldGit) -> dict[str, pygit2.Oid]:
    """Old spellings inside ``src/``, which the rules never touch, so its trees keep their ids.

    B changes internal/ and respells src/lib; C changes nothing but respells src/lib back (its
    parent was pruned); D changes a file; E only respells, after a commit that stays.
    """
    lib = old.tree({"util.py": (b"100644", old.blob("u\n"))})

    def src(spelling: bytes, text: str) -> pygit2.Oid:
        return old.tree({"a.py": (b"100644", old.blob(text)), "lib": (spelling, lib)})

    def root(source: pygit2.Oid, secret: str) -> pygit2.Oid:
        internal = old.tree({"s.txt": (b"100644", old.blob(secret))})
        return old.tree(
            {
                "README": (b"100664", old.blob("hi\n")),
                "internal": (b"040000", internal),
                "src": (b"40000", source),
            }
        )

    c: dict[str, pygit2.Oid] = {}
    c["A"] = old.commit("A", root(src(b"040000", "1\n"), "s1\n"))
    c["B"] = old.commit("B", root(src(b"40000", "1\n"), "s2\n"), c["A"])
    c["C"] = old.commit("C", root(src(b"040000", "1\n"), "s2\n"), c["B"])
    c["D"] = old.commit("D", root(src(b"040000", "2\n"), "s2\n"), c["C"])
    c["E"] = old.commit("E", root(src(b"40000", "2\n"), "s2\n"), c["D"])
    return c


def test_kept_trees_in_old_spelling_compare_as_git_compares_them(tmp_path: Path) -> None:
    old = OldGit(tmp_path / "src")
    commits = respelled_kept_trees(old)
    old.point(commits["E"])
    plain = tmp_path / "plain.git"  # not fsck'ed: src/ keeps the source's own trees
    git("init", "-q", "--bare", "-b", "main", str(plain))
    code, err = sync(old.path, plain, trailer=False)
    assert code == 0, err
    ours = git("rev-parse", "pubgate/sync", cwd=plain).strip()
    filter_repo(old.path, tmp_path / "fr.git", ["--path", "internal/", "--invert-paths"])
    theirs = git("rev-parse", "main", cwd=tmp_path / "fr.git").strip()
    # A, D and E stay (E was empty in the source too, and its parent stayed); B and C go.
    assert counts(plain, ours) == counts(tmp_path / "fr.git", theirs) == ("3", "0")
    subjects = git("log", "--format=%s", ours, cwd=plain).split()
    assert subjects == ["E", "D", "A"]
    # Trees no rule changed keep their ids, old spelling and all.
    assert git("rev-parse", f"{ours}:src", cwd=plain) == git(
        "rev-parse", f"{commits['E']}:src", cwd=old.path
    )


def test_a_refused_source_object_and_a_refused_object_of_ours_get_different_hints(
    tmp_path: Path, public: PublicRepos, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = OldGit(tmp_path / "src")
    commits = respelled_kept_trees(old)
    old.point(commits["E"])
    target = tmp_path / "checking.git"  # refuses the push, so there is nothing to fsck after
    git("init", "-q", "--bare", "-b", "main", str(target))
    git("config", "receive.fsckObjects", "true", cwd=target)
    code, err = sync(old.path, target)
    lines = err.strip().splitlines()
    assert code == 1 and len(lines) == 2, err
    assert "zeroPaddedFilemode" in lines[0]
    bad = [
        oid
        for oid in (git("rev-parse", f"{commits[c]}:src", cwd=old.path).strip() for c in "AD")
        if oid[:12] in lines[1]
    ]
    assert bad and "an object of the source history" in lines[1]
    assert "'git fsck --strict' in the source names it" in lines[1]

    # Were git-pubgate to write a tree in the old spelling, that would be its own bug.
    monkeypatch.setattr("git_pubgate.rewrite.canonical_entry", lambda entry: entry)
    shutil.rmtree(old.path / "pubgate")
    old.point(respelled_history(old)["H"])
    code, err = sync(old.path, target)
    lines = err.strip().splitlines()
    assert code == 1 and len(lines) == 2, err
    assert (
        "an object git-pubgate wrote: that is a bug in git-pubgate, please report it" in (lines[1])
    )


def _sync_with(old: OldGit, target: Path, config: dict[str, object]) -> str:
    """Sync ``old``'s main into ``target`` with ``config``; the head branch's tip."""
    path = old.path.parent / "pubgate.yaml"
    path.write_text(json.dumps({"target_repo": str(target), **config}))
    done = pubgate("--config", str(path), "sync", "--no-pr", cwd=old.path)
    assert done.code == 0, done.err
    return git("rev-parse", "pubgate/sync", cwd=target).strip()


def _from_scratch(old: OldGit, public: PublicRepos, config: dict[str, object]) -> str:
    """The head a sync from scratch gives, into a target of its own, leaving no state."""
    shutil.rmtree(old.path / "pubgate", ignore_errors=True)
    head = _sync_with(old, checking_target(public, "scratch.git"), config)
    shutil.rmtree(old.path / "pubgate")
    return head


def _synced_again_without(  # noqa: PLR0917
    old: OldGit,
    public: PublicRepos,
    config: dict[str, object],
    first: pygit2.Oid,
    then: pygit2.Oid,
    drop: str,
) -> str:
    """Publish ``first``, merge it, remove ``drop`` (the cache, or all of ``.git/pubgate``:
    a fresh clone), and sync ``then``: the head that sync pushed."""
    target = checking_target(public, "public.git")
    old.point(first)
    _sync_with(old, target, config)
    git("update-ref", "refs/heads/main", "refs/heads/pubgate/sync", cwd=target)
    shutil.rmtree(old.path / drop)
    old.point(then)
    return _sync_with(old, target, config)


@pytest.mark.parametrize("drop", ["pubgate", "pubgate/cache"])
def test_without_the_cache_a_folder_kept_unread_in_old_spelling_gives_the_same_ids(
    tmp_path: Path, public: PublicRepos, drop: str
) -> None:
    """The whole-tree filter of a sync without its cache keeps by id, unread, the folders no
    rule acts on. lib/ spells a mode the old way in A; B respells it as lib2/ is and changes
    only an excluded file, so its public tree differs from A's in the spelling alone: git
    filter-repo and a sync from scratch prune it, and so must a sync without the cache
    (without staging too: a fresh clone, which has not fetched A's public tree)."""
    config: dict[str, object] = {"exclude": ["*.pem"], "defaults": False}
    old = OldGit(tmp_path / "src")
    odd, canonical = (
        old.tree({"x.py": (mode, old.blob("x\n"))}) for mode in (b"100664", b"100644")
    )

    def root(readme: str, pem: str, lib: pygit2.Oid) -> pygit2.Oid:
        files = {"README": (b"100644", old.blob(readme)), "key.pem": (b"100644", old.blob(pem))}
        return old.tree({**files, "lib": (b"40000", lib), "lib2": (b"40000", canonical)})

    a = old.commit("A", root("1\n", "p1\n", odd))
    b = old.commit("B", root("1\n", "p2\n", canonical), a)
    c = old.commit("C", root("2\n", "p2\n", canonical), b)
    old.point(c)
    expected = _from_scratch(old, public, config)

    assert _synced_again_without(old, public, config, a, c, drop) == expected
    assert counts(public.root / "public.git", expected)[0] == "2"  # A and C: B was pruned


def test_a_fresh_clone_reads_back_the_public_tree_it_made_when_a_mode_is_old(
    tmp_path: Path, public: PublicRepos
) -> None:
    """B spells README's mode the old way: comparing B's public tree with A's reads A's back,
    which a fresh clone made itself (it fetched no public tree) and has not stored yet."""
    config: dict[str, object] = {"exclude": ["/internal/"]}
    old = OldGit(tmp_path / "src")
    readme = old.blob("hi\n")

    def root(readme_mode: bytes, n: int) -> pygit2.Oid:
        internal = old.tree({"s.txt": (b"100644", old.blob(f"s{n}\n"))})
        src = old.tree({"a.py": (b"100644", old.blob(f"{n}\n"))})
        entries = {"README": (readme_mode, readme), "src": (b"40000", src)}
        return old.tree({**entries, "internal": (b"40000", internal)})

    a = old.commit("A", root(b"100644", 1))
    b = old.commit("B", root(b"100664", 2), a)
    old.point(b)
    expected = _from_scratch(old, public, config)

    assert _synced_again_without(old, public, config, a, b, "pubgate") == expected


def test_folders_and_files_in_modes_no_git_writes_get_every_rule(tmp_path: Path) -> None:
    # git reads an entry by its mode's type bits: "40700" is a folder and "100600" a file, and
    # `git fsck` only warns of them (badFilemode). Taken for anything else, an excluded folder
    # would go out whole, and a file would skip the content rules.
    old = OldGit(tmp_path / "src")
    internal = old.tree({"key.txt": (b"100644", old.blob("top secret\n"))})
    lib = old.tree(
        {
            "a.py": (b"100644", old.blob("a = 1\n")),
            "deploy.pem": (b"100644", old.blob("-----BEGIN KEY-----\n")),
        }
    )
    marked = "keep\n# BEGIN-INTERNAL\nhidden\n# END-INTERNAL\n"
    root = old.tree(
        {
            "README": (b"100644", old.blob("read me\n")),
            "internal": (b"40700", internal),
            "lib": (b"40755", lib),
            "notes.txt": (b"100600", old.blob(marked)),
        }
    )
    old.point(old.commit("A", root))
    target = tmp_path / "public.git"  # not fsck'ed: lib/ keeps the source's own mode
    git("init", "-q", "--bare", "-b", "main", str(target))
    head = _sync_with(old, target, {"exclude": ["/internal/", "*.pem"]})
    listing = git("ls-tree", "-r", "--name-only", head, cwd=target).split()
    assert listing == ["README", "lib/a.py", "notes.txt"]
    notes = git("show", f"{head}:notes.txt", cwd=target)
    assert "keep" in notes and "hidden" not in notes
