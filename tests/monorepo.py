"""A generated monorepo: two libraries under ``libs/``, shared files, and history around them."""

from __future__ import annotations

import random

from .factory import C, FileSpec


def monorepo_history(seed: int, count: int) -> list[C]:
    """A deterministic monorepo history for ``libs/a/`` and ``libs/b/``.

    Commits that touch neither library come first (the libraries do not exist yet) and keep
    coming; each library has an ``internal/`` folder and ``*.pem`` files meant to be held back;
    merges join lines that changed one library, the other, or both; ``LICENSE`` changes now and
    then. Every line is merged back, so the tip reaches the whole history.
    """
    rng = random.Random(seed)
    commits = [
        C("c0", (), {"README.md": "monorepo\n", "tools/build.sh": "make\n"}),
        C("c1", ["c0"], {"LICENSE": "MIT\n", "docs/guide.md": "guide\n"}),
        C("c2", ["c1"], {"libs/a/README.md": "a\n", "libs/a/internal/plan.md": "a plan\n"}),
        C("c3", ["c2"], {"libs/b/README.md": "b\n", "libs/b/src/b.py": "B = 1\n"}),
    ]
    tips = ["c3"]
    places = {
        "a": ["libs/a/src", "libs/a/src/core", "libs/a/internal", "libs/a/tests"],
        "b": ["libs/b/src", "libs/b/internal", "libs/b/docs"],
        "neither": ["tools", "docs", "services/api", "libs/c"],
    }
    present: dict[str, set[str]] = {"c3": set()}
    for i in range(4, count):
        name = f"c{i}"
        roll = rng.random()
        if roll < 0.15 and len(tips) >= 2:
            width = 3 if rng.random() < 0.2 and len(tips) >= 3 else 2
            parents = rng.sample(tips, width)
        elif roll < 0.3:
            parents = [rng.choice(tips)]
            tips.append(name)
        else:
            parents = [rng.choice(tips)]
        files = set(present.get(parents[0], set()))
        changes: dict[str, FileSpec | None] = {}
        kind = rng.choice(["a", "a", "b", "b", "both", "neither", "neither", "license"])
        if kind == "license":
            changes["LICENSE"] = f"MIT {i}\n"
        else:
            for lib in ["a", "b"] if kind == "both" else [kind]:
                for _ in range(rng.randint(1, 2)):
                    action = rng.random()
                    if action < 0.15 and files:
                        victim = rng.choice(sorted(files))
                        changes[victim] = None
                    elif action < 0.25:
                        changes[f"{rng.choice(places[lib])}/k{i % 4}.pem"] = f"{name} key\n"
                    else:
                        path = f"{rng.choice(places[lib])}/f{rng.randint(0, 25)}.txt"
                        changes[path] = f"{name} {rng.random()}\n"
        for path, spec in changes.items():
            if spec is None:
                files.discard(path)
            else:
                files.add(path)
        present[name] = files
        author = rng.choice(["Ada Author", "Bo Baker", "Cy Cole"])
        commits.append(C(name, parents, changes, author=author))
        for parent in parents[1:]:
            if parent in tips and len(tips) > 1:
                tips.remove(parent)
        if parents[0] in tips and name not in tips:
            tips[tips.index(parents[0])] = name
    while len(tips) > 1:
        i = len(commits)
        merged = tips[:2]
        commits.append(C(f"c{i}", merged, {}))
        present[f"c{i}"] = set(present.get(merged[0], set()))
        tips = [f"c{i}", *tips[2:]]
    commits.append(C("tip", [tips[0]], {"README.md": "tip\n"}))
    return commits
