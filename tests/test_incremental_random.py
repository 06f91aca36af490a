"""Random histories, random runs: every incremental sync gives the ids of a sync from scratch.

``test_incremental.py`` names each case the sync cache must survive; this test mixes them in
orders nobody wrote down. A scenario is a list of steps: new commits on the source branch
(public changes, internal-only changes that are pruned, internal sections, a side branch forked
from an older commit and merged), syncs, merges of the pull request by each strategy a forge
offers, a changed rule, and a cache or staging repository thrown away (a CI runner without its
cache). Every sync is checked against a run with no cache and no staging repository
(``Checked.checked``: head, commits, pruned count and what the report says of the pull request),
and the review branch's tree against the rules applied to the source by hand at the end.
"""

from __future__ import annotations

import itertools
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .conftest import PublicRepos
from .factory import C, git
from .test_incremental import Checked
from .test_sync import EXCLUDE, HEAD, ROUND_1, listing, oracle_listing

WORK = st.tuples(
    st.just("work"),
    st.sampled_from(["public", "internal", "section", "side"]),
    st.integers(min_value=1, max_value=3),
    st.integers(min_value=0, max_value=50),  # where a side branch forks, counted back
)
STEP = st.one_of(
    WORK,
    st.just(("sync",)),
    st.tuples(st.just("merge"), st.sampled_from(["ff", "merge", "squash", "rebase"])),
    st.tuples(st.just("drop"), st.sampled_from(["cache", "staging"])),
    st.just(("rules",)),
    st.just(("forge",)),
)


@dataclass
class Scenario:
    """Runs the steps on a ``Checked`` world and remembers the source's first-parent line."""

    world: Checked
    line: list[str] = field(default_factory=lambda: [c.name for c in ROUND_1])
    names: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    rules_changed: bool = False
    open_head: str | None = None  # the head branch sync pushed last
    merged_head: str | None = None  # the head branch merged last

    def sync(self) -> None:
        head = self.world.checked()["head"]
        heads = self.world.heads()
        # Nothing new since the last merge: the report names the review branch's tip.
        self.open_head = head if heads.get(HEAD) == head != heads["main"] else None

    def name(self, kind: str) -> str:
        return f"{kind}{next(self.names)}"

    def work(self, kind: str, count: int, back: int) -> None:
        if kind == "side":
            self.side(count, back)
            return
        commits = []
        for _ in range(count):
            name = self.name(kind)
            if kind == "public":
                files = {f"src/{name}.py": f"{name}\n"}
            elif kind == "internal":
                files = {f"internal/{name}.md": f"{name}\n"}  # only excluded paths: pruned
            else:
                body = f"public {name}\n# BEGIN-INTERNAL\nsecret {name}\n# END-INTERNAL\n"
                files = {"src/sectioned.py": body}
            commits.append(C(name, [self.line[-1]], files))
            self.line.append(name)
        self.world.commit(*commits)

    def side(self, count: int, back: int) -> None:
        """A side branch forked ``back`` commits ago, merged into the source branch."""
        fork = self.line[max(0, len(self.line) - 1 - back)]
        tip, changed = fork, {}
        commits = []
        for index in range(count):
            name = self.name("side")
            files = {f"docs/{name}.md": f"{name}\n"}
            if index % 2:
                files[f"internal/{name}"] = "side internal\n"
            commits.append(C(name, [tip], files))
            changed.update(files)
            tip = name
        merge = self.name("merge")
        commits.append(C(merge, [self.line[-1], tip], changed))
        self.line.append(merge)
        self.world.commit(*commits)

    def rules(self) -> None:
        """Toggle one more excluded pattern: earlier commits' public ids change."""
        self.rules_changed = not self.rules_changed
        exclude = [*EXCLUDE, "docs/"] if self.rules_changed else EXCLUDE
        self.world.config.write_text(
            f"target_repo: {self.world.target}\nexclude: {json.dumps(exclude)}\n",
            encoding="utf-8",
        )

    def forge(self) -> None:
        """A person force-pushes the head branch: a commit naming the source tip, with an
        excluded file in it. Sync must neither build on it nor keep it."""
        clone = self.world.tmp / self.name("forger")
        git("clone", "-q", "-b", HEAD, str(self.world.target), str(clone))
        (clone / "internal").mkdir(exist_ok=True)
        (clone / "internal" / "forged.md").write_text("secret plan\n")
        git("add", "internal/forged.md", cwd=clone)
        source = self.world.ids[self.line[-1]]
        git("commit", "-q", "-m", f"Looks synced\n\nPubgate-Source: {source}\n", cwd=clone)
        git("push", "-q", "-f", "origin", HEAD, cwd=clone)
        self.open_head = None  # nobody merges it: the next sync must put back the real one

    def run(self, step: tuple[object, ...]) -> None:
        match step:
            case ("work", str(kind), int(count), int(back)):
                self.work(kind, count, back)
            case ("sync",):
                self.sync()
            case ("merge", str(strategy)):
                if self.open_head not in (None, self.merged_head):
                    self.world.merge(strategy)
                    self.merged_head = self.open_head
            case ("drop", "cache"):
                shutil.rmtree(self.world.cache_dir(), ignore_errors=True)
            case ("drop", "staging"):
                shutil.rmtree(self.world.src / ".git" / "pubgate", ignore_errors=True)
            case ("rules",):
                self.rules()
            case ("forge",):
                if self.open_head not in (None, self.merged_head):
                    self.forge()
            case _:
                raise AssertionError(step)


examples = itertools.count()


@settings(
    derandomize=True,
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(STEP, min_size=3, max_size=9))
def test_random_runs_equal_runs_from_scratch(
    tmp_path: Path, steps: list[tuple[object, ...]]
) -> None:
    root = tmp_path / f"example-{next(examples)}"
    root.mkdir()
    public = PublicRepos(root)
    scenario = Scenario(Checked(root, public, with_readme=True))
    scenario.world.commit(*ROUND_1)
    scenario.sync()
    for step in steps:
        scenario.run(step)
    scenario.sync()
    # Whatever happened on the way, the pull request's tree is the rules applied to the source.
    scenario.run(("merge", "merge"))
    target = scenario.world.target
    if not scenario.rules_changed:
        assert paths(listing(target, "main")) == paths(oracle_listing(scenario.world.src, "main"))
    assert (
        git("grep", "-l", "-e", "secret", "-e", "INTERNAL", "main", cwd=target, check=False) == ""
    )
    public.fsck()


def paths(lines: list[str]) -> list[str]:
    return [line.split("\t", 1)[1] for line in lines]
