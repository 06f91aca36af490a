"""Build real git histories from compact specs, with pinned signatures so ids are exact."""

from __future__ import annotations

import random
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pygit2

BLOB = 0o100644
EXEC = 0o100755
LINK = 0o120000
GITLINK = 0o160000

# A file is its content, or (mode, content); for a gitlink the content is the commit id (hex).
FileSpec = bytes | str | tuple[int, bytes | str]


def signature(name: str = "Ada Author", time: int = 1_600_000_000) -> pygit2.Signature:
    email = name.lower().replace(" ", ".") + "@corp.example"
    return pygit2.Signature(name, email, time, 60)


@dataclass
class C:
    """One commit of a spec: ``parents`` name earlier commits; ``files`` change the first parent's
    tree (None deletes a path)."""

    name: str
    parents: Sequence[str] = ()
    files: Mapping[str, FileSpec | None] = field(default_factory=dict)
    message: str | bytes | None = None
    author: str = "Ada Author"


def _write_tree(repo: pygit2.Repository, files: Mapping[str, tuple[int, bytes]]) -> pygit2.Oid:
    """Write nested trees for a flat path -> (mode, content) mapping, deepest first."""
    dirs: dict[str, dict[str, tuple[int, pygit2.Oid]]] = {"": {}}
    for path, (mode, content) in files.items():
        parts = path.split("/")
        for depth in range(1, len(parts)):
            dirs.setdefault("/".join(parts[:depth]), {})
        is_link = mode == GITLINK
        oid = pygit2.Oid(hex=content.decode()) if is_link else repo.create_blob(content)
        dirs["/".join(parts[:-1])][parts[-1]] = (mode, oid)
    for d in sorted(dirs, key=lambda p: p.count("/") if p else -1, reverse=True):
        if not d:
            continue
        builder = repo.TreeBuilder()
        for name, (mode, oid) in dirs[d].items():
            builder.insert(name, oid, mode)
        parent, _, base = d.rpartition("/")
        dirs[parent][base] = (pygit2.enums.FileMode.TREE, builder.write())
    builder = repo.TreeBuilder()
    for name, (mode, oid) in dirs[""].items():
        builder.insert(name, oid, mode)
    return builder.write()


def _normalise(spec: FileSpec) -> tuple[int, bytes]:
    mode, content = spec if isinstance(spec, tuple) else (BLOB, spec)
    return mode, content.encode() if isinstance(content, str) else content


def build(
    path: Path,
    commits: Sequence[C],
    branch: str = "main",
    bare: bool = False,
    known: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Create (or extend) a repository at ``path``; return commit name -> hex id.

    ``known`` names commits of earlier calls, so a spec can extend a history. Commit times
    increase by one minute per commit, so every run gives the same ids.
    """
    known = dict(known or {})
    if (path / ".git").exists() or (path / "HEAD").exists():
        repo = pygit2.Repository(str(path))
    else:
        repo = pygit2.init_repository(str(path), bare=bare, initial_head=branch)
    ids: dict[str, str] = dict(known)
    states: dict[str, dict[str, tuple[int, bytes]]] = {}
    for index, commit in enumerate(commits):
        if commit.parents and commit.parents[0] in states:
            state = dict(states[commit.parents[0]])
        elif commit.parents:
            state = _read_state(repo, _resolve(ids, commit.parents[0]))
        else:
            state = {}
        for name, spec in commit.files.items():
            if spec is None:
                state.pop(name, None)
            else:
                state[name] = _normalise(spec)
        tree = _write_tree(repo, state)
        sig = signature(commit.author, 1_600_000_000 + 60 * (index + len(known)))
        parents = [pygit2.Oid(hex=_resolve(ids, p)) for p in commit.parents]
        message = commit.message if commit.message is not None else f"{commit.name}\n"
        if isinstance(message, bytes):
            oid = repo.create_commit(None, sig, sig, message.decode("latin-1"), tree, parents)
        else:
            oid = repo.create_commit(None, sig, sig, message, tree, parents)
        ids[commit.name] = str(oid)
        states[commit.name] = state
    if commits:
        repo.references.create(f"refs/heads/{branch}", ids[commits[-1].name], force=True)
        if not bare and not repo.head_is_unborn and repo.head.shorthand == branch:
            repo.checkout_head(strategy=pygit2.enums.CheckoutStrategy.FORCE)
    return ids


def _resolve(ids: Mapping[str, str], name: str) -> str:
    return ids.get(name, name)


def _read_state(repo: pygit2.Repository, rev: str) -> dict[str, tuple[int, bytes]]:
    commit = repo[rev].peel(pygit2.Commit)
    out: dict[str, tuple[int, bytes]] = {}
    stack = [(commit.tree, "")]
    while stack:
        tree, prefix = stack.pop()
        for entry in tree:
            if entry.filemode == pygit2.enums.FileMode.TREE:
                stack.append((repo[entry.id], f"{prefix}{entry.name}/"))
            elif entry.filemode == GITLINK:
                out[prefix + entry.name] = (GITLINK, str(entry.id).encode())
            else:
                out[prefix + entry.name] = (int(entry.filemode), repo[entry.id].data)
    return out


def random_history(seed: int, count: int, excluded_share: float = 0.15) -> list[C]:
    """A deterministic DAG with nested files, renames, deletions, merges and octopus merges.

    Some commits touch only paths under ``internal/`` or ``*.pem`` (meant to be excluded).
    """
    rng = random.Random(seed)
    dirs = ["src", "src/core", "src/io", "docs", "tests/unit", "internal", "internal/deep", "a/b/c"]
    commits: list[C] = [C("c0", (), {"README.md": "root\n", "internal/secret.txt": "s0\n"})]
    tips = ["c0"]
    files: dict[str, set[str]] = {"c0": {"README.md", "internal/secret.txt"}}
    for i in range(1, count):
        name = f"c{i}"
        roll = rng.random()
        if roll < 0.15 and len(tips) >= 2:
            width = 3 if rng.random() < 0.2 and len(tips) >= 3 else 2
            parents = rng.sample(tips, width)
        elif roll < 0.3:
            parents = [rng.choice(tips)]
            tips.append(name)  # a new side line of development
        else:
            parents = [rng.choice(tips)]
        present = set(files[parents[0]])
        changes: dict[str, FileSpec | None] = {}
        if rng.random() < excluded_share:
            target = rng.choice(["internal/x.txt", "internal/deep/y.txt", f"keys/k{i % 3}.pem"])
            changes[target] = f"{name} secret\n"
        else:
            for _ in range(rng.randint(1, 3)):
                action = rng.random()
                if action < 0.15 and present:
                    victim = rng.choice(sorted(present))
                    changes[victim] = None
                elif action < 0.25 and present:
                    old = rng.choice(sorted(present))
                    changes[old] = None
                    changes[f"{rng.choice(dirs)}/moved{i}.txt"] = f"moved from {old}\n"
                else:
                    path = f"{rng.choice(dirs)}/f{rng.randint(0, 40)}.txt"
                    changes[path] = f"{name} {rng.random()}\n"
        for path, spec in changes.items():
            if spec is None:
                present.discard(path)
            else:
                present.add(path)
        files[name] = present
        commits.append(
            C(name, parents, changes, author=rng.choice(["Ada Author", "Bo Baker", "Cy Cole"]))
        )
        for parent in parents[1:]:
            if parent in tips and len(tips) > 1:
                tips.remove(parent)
        if parents[0] in tips and name not in tips:
            tips[tips.index(parents[0])] = name
    # Merge every remaining line so the branch tip reaches the whole history.
    while len(tips) > 1:
        i = len(commits)
        merged = tips[:2]
        commits.append(C(f"c{i}", merged, {}, author="Ada Author"))
        files[f"c{i}"] = set(files[merged[0]])
        tips = [f"c{i}", *tips[2:]]
    commits.append(C("tip", [tips[0]], {"README.md": "tip\n"}))
    return commits


def git(*args: str, cwd: Path | None = None, check: bool = True, input: bytes | None = None) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, input=input, check=False)
    if check and done.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {done.stderr.decode(errors='replace')}")
    return done.stdout.decode("utf-8", "surrogateescape")
