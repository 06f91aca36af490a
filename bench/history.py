"""A deterministic synthetic history for benchmarks, written with ``git fast-import``.

Shape (defaults): 50,000 commits on ``main``; 10,000+ files in nested folders; ~20% merges, some
of them octopus; ~10% of commits touching only excluded paths (``internal/``, ``docs/internal/``,
``*.pem``); renames and deletions. Side branches fork from ``main`` and are merged back with
their changes replayed, so merges carry real content.
"""

from __future__ import annotations

import random
import subprocess
from pathlib import Path

EXCLUDE = ["/internal/", "/docs/internal/", "*.pem"]
FILTER_REPO_ARGS = [
    "--path", "internal/", "--path", "docs/internal/", "--path-glob", "*.pem", "--invert-paths",
]


class _Stream:
    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.mark = 0
        self.time = 1_500_000_000

    def commit(self, branch: str, who: int, parents: list[int], changes: list[bytes]) -> int:
        self.mark += 1
        self.time += 37
        name = f"Dev {who:02d} <dev{who:02d}@corp.example>".encode()
        msg = b"change %d\n\nTouches %d paths.\n" % (self.mark, len(changes))
        out = [b"commit refs/heads/%s\nmark :%d\n" % (branch.encode(), self.mark),
               b"author %s %d +0000\n" % (name, self.time),
               b"committer %s %d +0000\n" % (name, self.time),
               b"data %d\n%s" % (len(msg), msg)]
        if parents:
            out.append(b"from :%d\n" % parents[0])
            out.extend(b"merge :%d\n" % p for p in parents[1:])
        out.extend(changes)
        out.append(b"\n")
        self.parts.append(b"".join(out))
        return self.mark


def _modify(path: str, content: str) -> bytes:
    data = content.encode()
    return b"M 100644 inline %s\ndata %d\n%s\n" % (path.encode(), len(data), data)


def _delete(path: str) -> bytes:
    return b"D %s\n" % path.encode()


def generate(path: Path, commits: int = 50_000, files: int = 10_000, seed: int = 1) -> None:
    """Create a repository at ``path`` holding the synthetic history on ``main``."""
    rng = random.Random(seed)
    stream = _Stream()
    width = max(4, round(files ** (1 / 3)))
    public = [f"pkg{a:02d}/mod{b:02d}/file{c:03d}.py"
              for a in range(width) for b in range(width) for c in range(width)][:files]
    secret = [f"internal/team{i % 7}/notes{i}.md" for i in range(files // 50)]
    secret += [f"docs/internal/page{i}.md" for i in range(files // 100)]
    keys = [f"pkg{i % width:02d}/deploy{i}.pem" for i in range(20)]
    alive = set(public)
    first = [_modify(p, f"{p} v0\n") for p in public + secret + keys]
    tip = stream.commit("main", 0, [], first)
    remaining = commits - 1
    sides: dict[str, tuple[int, dict[str, bytes]]] = {}  # branch -> (tip, replay changes)
    counter = 0
    while remaining > 0:
        counter += 1
        roll = rng.random()
        if roll < 0.27 and sides and remaining > 1:
            # A merge: one side branch, or an octopus of three.
            count = 3 if len(sides) >= 3 and rng.random() < 0.15 else 1
            names = rng.sample(sorted(sides), count)
            replay: list[bytes] = []
            for name in names:
                replay.extend(sides[name][1].values())
            parents = [tip] + [sides.pop(name)[0] for name in names]
            tip = stream.commit("main", rng.randrange(40), parents, replay)
        elif roll < 0.37 and len(sides) < 6:
            name = f"side{counter}"
            sides[name] = (stream.commit(name, rng.randrange(40), [tip],
                                         [_modify(rng.choice(public), f"fork {counter}\n")]), {})
            sides[name][1][name] = _modify(f"pkg00/forks/{name}.txt", f"{name}\n")
        else:
            changes: list[bytes] = []
            if rng.random() < 0.1:
                target = rng.choice(secret + keys)
                changes.append(_modify(target, f"{target} v{counter}\n"))
            else:
                for _ in range(rng.randint(1, 3)):
                    kind = rng.random()
                    victim = rng.choice(public)
                    if kind < 0.05 and victim in alive:
                        alive.discard(victim)
                        changes.append(_delete(victim))
                    elif kind < 0.1 and victim in alive:
                        alive.discard(victim)
                        new = victim.replace(".py", f"_r{counter}.py")
                        public.append(new)
                        alive.add(new)
                        changes.append(_delete(victim))
                        changes.append(_modify(new, f"{victim} renamed\n"))
                    else:
                        alive.add(victim)
                        changes.append(_modify(victim, f"{victim} v{counter}\n"))
            if sides and rng.random() < 0.3:
                name = rng.choice(sorted(sides))
                side_tip, replay_map = sides[name]
                for change in changes:
                    replay_map[change.split(b"\n", 1)[0]] = change
                sides[name] = (stream.commit(name, rng.randrange(40), [side_tip], changes),
                               replay_map)
            else:
                tip = stream.commit("main", rng.randrange(40), [tip], changes)
        remaining -= 1
    for name in sorted(sides):  # merge what is left so main reaches every commit
        side_tip, replay_map = sides.pop(name)
        tip = stream.commit("main", 0, [tip, side_tip], list(replay_map.values()))
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(path)], check=True)
    subprocess.run(["git", "fast-import", "--quiet"], cwd=path, input=b"".join(stream.parts),
                   check=True)
    for name in {b.split(b"\n", 1)[0] for b in stream.parts}:
        branch = name.removeprefix(b"commit refs/heads/").decode()
        if branch != "main":
            subprocess.run(["git", "update-ref", "-d", f"refs/heads/{branch}"], cwd=path,
                           check=True)


def generate_topics(path: Path, commits: int = 50_000, files: int = 2_000, seed: int = 2) -> None:
    """A second shape: fewer files, long-lived topic branches, and many more merges.

    Up to 12 topic branches live at once, each 5-80 commits long. main is merged into a topic
    now and then (a "sync with main" merge) and every topic is merged back with ``--no-ff``, so
    about a quarter of the commits are merges; ~10% of the rest touch only excluded paths.
    """
    rng = random.Random(seed)
    stream = _Stream()
    width = max(4, round(files ** (1 / 2)))
    public = [f"src/mod{a:02d}/file{b:03d}.py" for a in range(width) for b in range(width)][:files]
    secret = [f"internal/notes{i}.md" for i in range(max(10, files // 40))]
    keys = [f"src/mod{i:02d}/deploy.pem" for i in range(5)]
    main_state = {p: f"{p} v0\n" for p in public + secret + keys}
    tip = stream.commit("main", 0, [], [_modify(p, c) for p, c in main_state.items()])
    remaining = commits - 1
    topics: dict[str, _Topic] = {}
    counter = 0
    while remaining > 0:
        counter += 1
        roll = rng.random()
        ready = sorted(name for name, t in topics.items() if t.commits >= t.length)
        if ready and roll < 0.06:
            topic = topics.pop(rng.choice(ready))
            main_state.update(topic.own)
            changes = [_modify(p, c) for p, c in sorted(topic.own.items())]
            tip = stream.commit("main", rng.randrange(40), [tip, topic.tip], changes)
        elif len(topics) < 12 and (roll < 0.09 or not topics):
            name = f"topic{counter}"
            topic = _Topic(tip, rng.randint(5, 80), dict(main_state))
            topic.name = name
            topic.tip = stream.commit(name, rng.randrange(40), [tip], topic.edit(rng, counter))
            topics[name] = topic
        elif roll < 0.35:
            # Bring main into a topic: its tree becomes main's plus the topic's own changes.
            name = rng.choice(sorted(topics))
            topic = topics[name]
            changes = [_modify(p, c) for p, c in sorted(main_state.items())
                       if p not in topic.own and topic.base.get(p) != c]
            topic.tip = stream.commit(name, rng.randrange(40), [topic.tip, tip], changes)
            topic.base = dict(main_state)
        elif roll < 0.95:
            topic = topics[rng.choice(sorted(topics))]
            topic.tip = stream.commit(topic.name, rng.randrange(40), [topic.tip],
                                      topic.edit(rng, counter))
        else:
            change = rng.choice(public)
            main_state[change] = f"{change} main {counter}\n"
            tip = stream.commit("main", rng.randrange(40), [tip],
                                [_modify(change, main_state[change])])
        remaining -= 1
    for name in sorted(topics):
        topic = topics.pop(name)
        changes = [_modify(p, c) for p, c in sorted(topic.own.items())]
        tip = stream.commit("main", 0, [tip, topic.tip], changes)
    _import(path, stream)


class _Topic:
    """One topic branch of ``generate_topics``: its tip, its own changes, main as it last saw it."""

    def __init__(self, tip: int, length: int, base: dict[str, str]):
        self.tip = tip
        self.length = length
        self.base = base
        self.own: dict[str, str] = {}
        self.commits = 0
        self.name = ""
        self.paths = sorted(p for p in base if p.endswith(".py"))
        self.hidden = sorted(p for p in base if not p.endswith(".py"))

    def edit(self, rng: random.Random, counter: int) -> list[bytes]:
        self.commits += 1
        if rng.random() < 0.1:
            chosen = [rng.choice(self.hidden)]
        else:
            chosen = [rng.choice(self.paths) for _ in range(rng.randint(1, 4))]
        for path in chosen:
            self.own[path] = f"{path} v{counter}\n"
        return [_modify(path, self.own[path]) for path in sorted(set(chosen))]


def _import(path: Path, stream: _Stream) -> None:
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(path)], check=True)
    subprocess.run(["git", "fast-import", "--quiet"], cwd=path, input=b"".join(stream.parts),
                   check=True)
    for name in {b.split(b"\n", 1)[0] for b in stream.parts}:
        branch = name.removeprefix(b"commit refs/heads/").decode()
        if branch != "main":
            subprocess.run(["git", "update-ref", "-d", f"refs/heads/{branch}"], cwd=path,
                           check=True)


def append(path: Path, count: int, tag: str, branch: str = "main") -> None:
    """Add ``count`` linear commits on ``branch`` (one public and one excluded path each)."""
    ref = f"refs/heads/{branch}".encode()
    parts = [b"reset %s\nfrom %s^0\n\n" % (ref, ref)]
    for i in range(count):
        msg = f"new work {tag} {i}\n".encode()
        parts.append(
            b"commit %s\n" % ref
            + b"author Dev 99 <dev99@corp.example> %d +0000\n" % (1_800_000_000 + i)
            + b"committer Dev 99 <dev99@corp.example> %d +0000\n" % (1_800_000_000 + i)
            + b"data %d\n%s" % (len(msg), msg)
            + (b"from %s^0\n" % ref if i == 0 else b"")
            + _modify(f"pkg01/mod02/new_{tag}_{i}.py", f"{tag} {i}\n")
            + _modify(f"internal/new_{tag}_{i}.md", f"{tag} {i}\n")
            + b"\n"
        )
    subprocess.run(["git", "fast-import", "--quiet"], cwd=path, input=b"".join(parts),
                   check=True)
