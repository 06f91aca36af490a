"""Incremental syncs give exactly the ids of a sync from scratch.

Every case the sync cache must survive: a pull request left open over several runs, the pull
request merged each way a forge merges, a release pull request superseded, a head branch that a
person force-pushed, and a cache that is stale, damaged or missing. Each sync here is checked
against a run with no cache and no staging repository (``World.sync_checked``), and the tests
check that the fast path was really taken (``rewritten`` counts only the new commits).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pygit2
import pytest

from git_pubgate import commit_map
from git_pubgate.commit_map import CommitMap
from git_pubgate.held_back import held_back, held_back_from
from git_pubgate.rules import Rules
from git_pubgate.state import read_synced, read_synced_since

from .conftest import PublicRepos, pubgate
from .factory import C, FileSpec, build, git
from .monorepo import monorepo_history
from .test_monorepo import write_config
from .test_sync import EXCLUDE, HEAD, ROUND_1, World, listing, oracle_listing


class Checked(World):
    """World, with the JSON report of each checked sync kept."""

    def sync_report(self, *args: str) -> dict[str, Any]:
        code, out, err = self.sync("--json", "sync", "--no-pr", *args)
        assert code == 0, err
        return dict(json.loads(out))

    def from_scratch(self) -> dict[str, Any]:
        """The report of a run with no cache and no staging repository, now."""
        staging = self.src / ".git" / "pubgate"
        aside = self.tmp / "staging-aside"
        staging.rename(aside)
        try:
            code, out, err = self.sync("--json", "sync", "--dry-run")
            assert code == 0, err
            return dict(json.loads(out))
        finally:
            shutil.rmtree(staging, ignore_errors=True)
            aside.rename(staging)

    def checked(self) -> dict[str, Any]:
        """Sync, and check the head, the commits listed and the pruned count against a run
        from scratch (the order of commits on parallel branches may differ)."""
        report = self.sync_report()
        scratch = self.from_scratch()
        same_as_scratch(report, scratch)
        return report

    def cache_dir(self) -> Path:
        return self.src / ".git" / "pubgate" / "cache"

    def source_tip(self) -> str:
        return git("rev-parse", "main", cwd=self.src).strip()


def pairs(report: dict[str, Any]) -> set[tuple[str, str]]:
    return {(c["source"], c["public"]) for c in report["commits"]}


# What a report says about the whole pull request: the same whether earlier runs' commits were
# reused or every commit was rewritten again.
ABOUT_THE_PULL_REQUEST = (
    "pruned",
    "excluded_paths",
    "held_back_by_default",
    "sections_changed",
    "symlinks_leaving",
    "new_identities",
    "warnings",
)


def same_as_scratch(report: dict[str, Any], scratch: dict[str, Any]) -> None:
    assert report["head"] == scratch["head"]
    assert pairs(report) == pairs(scratch)
    for key in ABOUT_THE_PULL_REQUEST:
        assert report[key] == scratch[key], key


# A pull request's worth of history with pruned commits (internal-only changes), a side branch
# forked from a pruned commit and merged, and an octopus merge.
OPEN_PR = [
    C("p1", ["c"], {"src/one.py": "1\n"}),
    C("p2", ["p1"], {"internal/secret.md": "s\n"}),  # pruned
    C("p3", ["p2"], {"src/two.py": "2\n"}),
    C("s1", ["p2"], {"src/side.py": "side\n", "internal/side": "x\n"}),  # forks from pruned p2
    C("s2", ["s1"], {"internal/side": "y\n"}),  # pruned, on the side branch
    C("p4", ["p3", "s2"], {"src/side.py": "side\n", "internal/side": "y\n"}),
    C("o1", ["p4"], {"src/o1.py": "o\n"}),
    C("o2", ["p4"], {"internal/o2": "o\n"}),  # pruned
    C("p5", ["p4", "o1", "o2"], {"src/o1.py": "o\n", "internal/o2": "o\n"}),
]


def test_open_pull_request_rewrites_only_new_commits(tmp_path: Path, public: PublicRepos) -> None:
    world = Checked(tmp_path, public, with_readme=True)
    world.commit(*ROUND_1)
    first = world.checked()
    assert first["rewritten"] == 3
    world.commit(*OPEN_PR)
    second = world.checked()
    assert second["rewritten"] == len(OPEN_PR)  # the review branch has not moved
    assert len(second["commits"]) == len(first["commits"]) + 6
    assert second["pruned"] == first["pruned"] + 3

    # New commits on top of the open pull request, one of them a merge of a branch that forked
    # from a pruned commit inside the pull request.
    world.commit(
        C("n1", ["p5"], {"src/n1.py": "n\n"}),
        C("t1", ["s2"], {"src/t1.py": "t\n"}),
        C("n2", ["n1", "t1"], {"src/t1.py": "t\n"}),
    )
    third = world.checked()
    assert third["rewritten"] == 3
    assert [c["public"] for c in third["commits"][: len(second["commits"])]] == [
        c["public"] for c in second["commits"]
    ]
    assert listing(world.target, HEAD) == oracle_listing(world.src, "main")

    # An unchanged source: nothing rewritten, the head branch is already there.
    fourth = world.sync_report()
    assert fourth["rewritten"] == 0 and fourth["already_pushed"] is True
    assert fourth["head"] == third["head"]

    # A pruned tip, then a commit with no changes on it: pruned too, as from scratch, because
    # the cache remembers that its parent was pruned (filter-repo keeps empty commits only when
    # their parents survive).
    world.commit(C("q1", ["n2"], {"internal/q": "q\n"}))
    assert world.checked()["rewritten"] == 1
    world.commit(C("q2", ["q1"], {}))
    fifth = world.checked()
    assert fifth["rewritten"] == 1 and fifth["head"] == third["head"]


@pytest.mark.parametrize("strategy", ["ff", "merge", "squash", "rebase"])
def test_pull_request_merged_while_more_commits_arrive(
    tmp_path: Path, public: PublicRepos, strategy: str
) -> None:
    world = Checked(tmp_path, public, with_readme=True)
    world.commit(*ROUND_1)
    world.checked()
    world.commit(*OPEN_PR[:3])
    world.checked()  # the pull request grows while open
    world.merge(strategy)
    assert listing(world.target, "main") == oracle_listing(world.src, "main")

    world.commit(C("after", ["p3"], {"src/after.py": "a\n"}))
    report = world.checked()
    assert report["rewritten"] == 1 and len(report["commits"]) == 1
    assert report["last_synced_source"] == world.ids["p3"]
    world.commit(C("later", ["after"], {"src/later.py": "l\n"}))
    report = world.checked()  # a second run on the same review tip reuses the first
    assert report["rewritten"] == 1 and len(report["commits"]) == 2
    world.merge(strategy)
    assert listing(world.target, "main") == oracle_listing(world.src, "main")
    code, _, err = world.sync("sync", "--no-pr")
    assert code == 0 and "up to date" in err


def test_source_branch_reset_while_the_pull_request_is_open(
    tmp_path: Path, public: PublicRepos
) -> None:
    world = Checked(tmp_path, public, with_readme=True)
    world.commit(*ROUND_1, *OPEN_PR)
    world.checked()
    git("update-ref", "refs/heads/main", world.ids["p3"], cwd=world.src)  # p4, p5 dropped
    world.commit(C("r1", ["p3"], {"src/r1.py": "r\n"}))
    report = world.checked()
    sources = {c["source"] for c in report["commits"]}
    assert world.ids["p4"] not in sources and world.ids["r1"] in sources


def test_hand_edited_head_branch_is_never_built_on(tmp_path: Path, public: PublicRepos) -> None:
    """A person force-pushes the head branch with a commit that names real source commits
    but carries an excluded file: sync must neither trust nor keep it, cache or no cache."""
    world = Checked(tmp_path, public, with_readme=True)
    world.commit(*ROUND_1, *OPEN_PR[:3])
    honest = world.checked()["head"]

    forge = tmp_path / "forger"
    git("clone", "-q", "-b", HEAD, str(world.target), str(forge))
    (forge / "internal").mkdir()
    (forge / "internal" / "plan.md").write_text("codename\n")
    git("add", "internal/plan.md", cwd=forge)
    message = f"Looks synced\n\nPubgate-Source: {world.ids['p3']}\n"
    git("commit", "-q", "-m", message, cwd=forge)
    git("push", "-q", "-f", "origin", HEAD, cwd=forge)
    forged = git("rev-parse", "HEAD", cwd=forge).strip()

    # The source is unchanged: sync puts back what the rules produce.
    report = world.sync_report()
    assert report["head"] == honest and report["pushed"] is True
    assert world.heads()[HEAD] == honest

    for cache in ("kept", "absent"):
        git("push", "-q", "-f", "origin", f"{forged}:refs/heads/{HEAD}", cwd=forge)
        if cache == "absent":
            shutil.rmtree(world.src / ".git" / "pubgate")
        world.commit(C(f"new-{cache}", [world.source_tip()], {f"src/{cache}.py": "n\n"}))
        report = world.checked()
        head = world.heads()[HEAD]
        assert head == report["head"]
        assert "internal/plan.md" not in git("ls-tree", "-r", "--name-only", head, cwd=world.target)
        ancestors = git("rev-list", head, cwd=world.target).split()
        assert forged not in ancestors and honest in ancestors


def test_stale_damaged_or_missing_cache(tmp_path: Path, public: PublicRepos) -> None:
    world = Checked(tmp_path, public, with_readme=True)
    world.commit(*ROUND_1)
    world.checked()
    stale = tmp_path / "stale-cache"
    shutil.copytree(world.cache_dir(), stale)
    world.commit(*OPEN_PR[:4])
    world.checked()
    world.merge("merge")
    world.commit(*OPEN_PR[4:])
    merged_then = len(world.checked()["commits"])

    # A cache from two runs ago (CI restored an old one): older review tip, older pending.
    shutil.rmtree(world.cache_dir())
    shutil.copytree(stale, world.cache_dir())
    world.commit(C("x1", ["p5"], {"src/x1.py": "x\n"}))
    world.checked()

    # Every cache file damaged: the map truncated, the record not JSON.
    for path in world.cache_dir().iterdir():
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2] if path.suffix == ".map" else b"{not json")
    world.commit(C("x2", ["x1"], {"src/x2.py": "x\n"}))
    world.checked()

    # A map whose bytes were changed without changing its length: refused by its checksum.
    maps = list(world.cache_dir().glob("*.map"))
    assert maps
    for path in maps:
        data = bytearray(path.read_bytes())
        data[-1] ^= 0xFF
        path.write_bytes(bytes(data))
    world.commit(C("x3", ["x2"], {"src/x3.py": "x\n"}))
    world.checked()

    # No cache directory, staging kept.
    shutil.rmtree(world.cache_dir())
    world.commit(C("x4", ["x3"], {"src/x4.py": "x\n"}))
    report = world.checked()
    assert len(report["commits"]) == merged_then + 4  # the whole pull request, from scratch
    assert report["rewritten"] == len(report["commits"]) + report["pruned"]  # nothing reused


def test_cache_naming_commits_by_abbreviated_ids_is_not_used(
    tmp_path: Path, public: PublicRepos
) -> None:
    """A record whose key still matches but whose commit ids were cut short or damaged (by
    hand, or a bad restore) is ignored like any damaged record: no traceback, same ids."""
    world = Checked(tmp_path, public, with_readme=True)
    world.commit(*ROUND_1, *OPEN_PR[:3])
    world.checked()
    damaged = 0
    for path in world.cache_dir().glob("*.json"):
        data = json.loads(path.read_text())
        pending = data.get("pending") if isinstance(data, dict) else None
        if isinstance(pending, dict) and pending.get("tip"):
            pending["tip"] = pending["tip"][:3]
            pending["root_parent"] = "not an id"
            path.write_text(json.dumps(data))
            damaged += 1
    assert damaged == 1
    world.commit(C("after", ["p3"], {"src/after.py": "a\n"}))
    report = world.checked()
    assert report["rewritten"] == len(report["commits"]) + report["pruned"]  # nothing reused


def test_changed_rules_do_not_reuse_the_open_pull_request(
    tmp_path: Path, public: PublicRepos
) -> None:
    world = Checked(tmp_path, public, with_readme=True)
    world.commit(*ROUND_1, *OPEN_PR[:3])
    before = world.checked()
    world.config.write_text(
        f"target_repo: {world.target}\nexclude: {json.dumps(EXCLUDE)}\n"
        "message:\n  scrub: ['^p3$']\n",
        encoding="utf-8",
    )
    world.commit(C("y", ["p3"], {"src/y.py": "y\n"}))
    after = world.checked()
    assert after["rewritten"] == len(OPEN_PR[:3]) + 1 + 3  # all of it again, under new rules
    assert before["commits"][-1]["public"] != after["commits"][-2]["public"]


def test_superseded_release_reuses_the_synced_commits(tmp_path: Path, public: PublicRepos) -> None:
    world = Checked(tmp_path, public, with_readme=True)
    world.config.write_text(
        f"target_repo: {world.target}\nexclude: {json.dumps(EXCLUDE)}\nversion: {{}}\n",
        encoding="utf-8",
    )
    world.commit(
        C("a", (), {"src/app.py": "1\n", "internal/x": "s\n"}),
        C("b", ["a"], {"src/app.py": "2\n"}, message="fix: a fix\n"),
    )
    first = world.checked()
    assert first["target"]["head_branch"] == "pubgate/release-v0.0.1"
    world.commit(C("c", ["b"], {"src/app.py": "3\n"}, message="feat: a feature\n"))
    second = world.checked()
    assert second["target"]["head_branch"] == "pubgate/release-v0.1.0"
    assert second["rewritten"] == 1
    assert second["superseded_branches"] == ["pubgate/release-v0.0.1"]
    assert list(world.heads()) == ["main", "pubgate/release-v0.1.0"]
    world.commit(C("d", ["c"], {"src/app.py": "4\n"}, message="fix: another fix\n"))
    third = world.checked()
    assert third["target"]["head_branch"] == "pubgate/release-v0.1.0"
    assert third["rewritten"] == 1


def test_repacked_staging_drops_nothing_the_cache_reuses(
    tmp_path: Path, public: PublicRepos
) -> None:
    """A plan writes commits nobody pushed; staging's repack must keep what the cache names."""
    world = Checked(tmp_path, public, with_readme=True)
    world.commit(*ROUND_1, *OPEN_PR[:3])
    code, _, err = world.sync("plan")
    assert code == 0, err
    staging = world.src / ".git" / "pubgate" / "public.git"
    git("--git-dir", str(staging), "repack", "-a", "-d", "-l", "-q")
    git("--git-dir", str(staging), "prune", "--expire=now")
    world.commit(C("z", ["p3"], {"src/z.py": "z\n"}))
    report = world.checked()
    assert report["rewritten"] == 1


def test_trailers_since_a_commit_that_is_no_longer_an_ancestor(tmp_path: Path) -> None:
    """A review branch rewritten by force: the stored map no longer applies, say so."""

    def named(name: str, parents: list[str]) -> C:
        return C(
            name,
            parents,
            {f"{name}.txt": name},
            message=f"{name}\n\nPubgate-Source: {'a' * 39}{name[-1]}\n",
        )

    ids = build(
        tmp_path / "pub", [named("c1", []), named("c2", ["c1"]), named("c3", ["c2"])], bare=True
    )
    ids = build(tmp_path / "pub", [named("x2", ["c1"])], branch="other", bare=True, known=ids)
    repo = pygit2.Repository(str(tmp_path / "pub"))
    assert read_synced_since(repo, ids["c3"], "Pubgate-Source", ids["c3"]) == {}
    assert read_synced_since(repo, ids["c3"], "Pubgate-Source", ids["c1"]) == {
        "a" * 39 + "3": ids["c3"],
        "a" * 39 + "2": ids["c2"],
    }
    assert read_synced_since(repo, ids["c3"], "Pubgate-Source", ids["x2"]) is None
    assert len(read_synced(repo, ids["c3"], "Pubgate-Source")) == 3


def test_commit_map_splices_new_records_into_place(tmp_path: Path) -> None:
    ids = [f"{i:040x}" for i in range(0, 200, 7)]
    first = CommitMap.build({s: s[::-1] for s in ids[::2]}, 20)
    name = commit_map.save(tmp_path, "m", first)
    stored = commit_map.load(tmp_path / name)
    assert stored is not None and len(stored) == len(ids[::2])
    # New ones before, between and after the stored ones, one replaced, one pruned to nothing.
    more: dict[str, str | None] = {s: s[::-1] for s in ids[1::2]}
    more[ids[0]] = "f" * 40
    more["0" * 39 + "1"] = None
    more["f" * 40] = "e" * 40
    merged = CommitMap(CommitMap.build(more, 20, stored), 20)
    assert len(merged) == len(ids) + 2
    assert merged.get(ids[0]) == "f" * 40
    assert all(merged.get(s) == s[::-1] for s in ids[1:])
    assert merged.get("0" * 39 + "1") == "" and merged.get("f" * 40) == "e" * 40
    assert merged.get("1" * 40) is None
    assert CommitMap.build(more, 20, stored) == CommitMap.build(
        {**dict.fromkeys(ids), **{s: s[::-1] for s in ids}, **more}, 20
    )


def test_content_policy_changed_while_the_pull_request_is_open(
    tmp_path: Path, public: PublicRepos
) -> None:
    """Replacements and the safe defaults change what files hold, so public ids: a record
    written under other content rules is never reused."""
    world = Checked(tmp_path, public, with_readme=True)

    def configure(**extra: Any) -> None:
        settings = {"target_repo": str(world.target), "exclude": EXCLUDE, **extra}
        world.config.write_text(json.dumps(settings), encoding="utf-8")

    corp = {"pattern": r"pypi\.corp\.example", "with": "pypi.org"}
    configure(replace=[corp])
    conf = "index = https://pypi.corp.example/simple\n# BEGIN-INTERNAL\nhost = db\n"
    conf += "# END-INTERNAL\n"
    world.commit(
        *ROUND_1,
        C("k1", ["c"], {"src/setup.cfg": conf, "deploy/.env": "TOKEN=1\n"}),
        C("k2", ["k1"], {"src/two.py": "2\n"}),
    )
    first = world.checked()
    assert first["sections_changed"] == 1 and "deploy/.env" in first["excluded_paths"]
    world.commit(C("k3", ["k2"], {"src/three.py": "3\n"}))
    assert world.checked()["rewritten"] == 1  # same rules: the record is reused

    configure(replace=[{**corp, "with": "mirror.example"}])
    world.commit(C("k4", ["k3"], {"src/four.py": "4\n"}))
    second = world.checked()
    assert second["rewritten"] == len(second["commits"]) + second["pruned"]  # nothing reused
    k1 = world.ids["k1"]
    assert dict(pairs(second))[k1] != dict(pairs(first))[k1]  # the file reads differently

    configure(replace=[{**corp, "with": "mirror.example"}], defaults=False)
    world.commit(C("k5", ["k4"], {"src/five.py": "5\n"}))
    third = world.checked()
    assert third["rewritten"] == len(third["commits"]) + third["pruned"]
    assert "deploy/.env" not in third["excluded_paths"]


def test_quoted_ids_of_commits_an_earlier_run_wrote(tmp_path: Path, public: PublicRepos) -> None:
    """A new commit quotes one that only the open pull request holds: it gets the id the
    pull request gave that commit, as a run from scratch gives it."""
    world = Checked(tmp_path, public, with_readme=True)
    world.commit(*ROUND_1, C("q1", ["c"], {"src/q.py": "1\n"}))
    first = world.checked()
    world.commit(C("q2", ["q1"], {"src/q.py": "2\n"}, message=f"Revert {world.ids['q1'][:10]}\n"))
    second = world.checked()
    assert second["rewritten"] == 1
    image = {c["source"]: c["public"] for c in first["commits"]}[world.ids["q1"]]
    public = second["commits"][-1]["public"]
    message = git("log", "-1", "--format=%B", public, cwd=world.target)
    assert message.startswith(f"Revert {image[:10]}\n")


def test_keep_public_while_the_pull_request_is_open(tmp_path: Path, public: PublicRepos) -> None:
    world = Checked(tmp_path, public, with_readme=True)
    world.commit(*ROUND_1, C("d", ["c"], {"docs/notes.md": "public notes\n", "src/d.py": "d\n"}))
    world.checked()
    world.merge("merge")
    settings = {
        "target_repo": str(world.target),
        "exclude": [*EXCLUDE, "docs/notes.md"],
        "keep_public": ["docs/notes.md"],
    }
    world.config.write_text(json.dumps(settings), encoding="utf-8")
    world.commit(C("e", ["d"], {"docs/notes.md": "internal now\n", "src/e.py": "e\n"}))
    first = world.checked()
    assert first["kept_public"] == ["docs/notes.md"]
    world.commit(C("f", ["e"], {"docs/notes.md": "more internal\n", "src/f.py": "f\n"}))
    second = world.checked()
    assert second["rewritten"] == 1 and second["kept_public"] == ["docs/notes.md"]
    shown = git("show", f"{second['head']}:docs/notes.md", cwd=world.target)
    assert shown == "public notes\n"


def test_monorepo_targets_with_root_and_move_keep_their_own_records(
    tmp_path: Path, public: PublicRepos
) -> None:
    """Two targets from one monorepo, pull requests left open: each target's ids equal a
    run from scratch, and changing one target's layout rewrites that target only."""
    history = monorepo_history(7, 120)
    src = tmp_path / "src"
    repos = {"a": public.bare("a.git"), "b": public.bare("b.git")}
    targets = {
        "a": {"root": "libs/a/", "target_repo": str(repos["a"]), "move": {"LICENSE": "LICENSE"}},
        "b": {"root": "libs/b/", "target_repo": str(repos["b"])},
    }
    settings: dict[str, Any] = {"exclude": ["/internal/", "*.pem"], "targets": targets}
    ids = build(src, history[:80])
    write_config(src, settings)

    def run() -> dict[str, dict[str, Any]]:
        result = pubgate("--json", "sync", "--no-pr", cwd=src)
        assert result.code == 0, result.err
        reports = {t["name"]: t for t in json.loads(result.out)["targets"]}
        aside = tmp_path / "aside"
        (src / ".git" / "pubgate").rename(aside)
        try:
            scratch = pubgate("--json", "sync", "--dry-run", cwd=src)
            assert scratch.code == 0, scratch.err
            for other in json.loads(scratch.out)["targets"]:
                same_as_scratch(reports[other["name"]], other)
        finally:
            shutil.rmtree(src / ".git" / "pubgate", ignore_errors=True)
            aside.rename(src / ".git" / "pubgate")
        return reports

    def new_since(old: str) -> int:
        return int(git("rev-list", "--count", f"{old}..main", cwd=src))

    run()
    before = git("rev-parse", "main", cwd=src).strip()
    ids = build(src, history[80:100], known=ids)
    second = run()
    assert [r["rewritten"] for r in second.values()] == [new_since(before)] * 2  # only the new
    targets["a"]["move"] = {"LICENSE": "LICENSE.txt"}
    write_config(src, settings)
    before = git("rev-parse", "main", cwd=src).strip()
    build(src, history[100:], known=ids)
    third = run()
    assert third["a"]["rewritten"] == len(third["a"]["commits"]) + third["a"]["pruned"]
    assert third["b"]["rewritten"] == new_since(before)


def test_held_back_list_updated_from_the_last_run_equals_the_list_from_scratch(
    tmp_path: Path,
) -> None:
    """Tips one after the other from the same last synced commit (an open pull request), each
    list computed from the one before it; every change that can move a path in or out of it."""
    steps = [
        C("base", (), {"src/a.py": "a\n", "keys/old.pem": "o\n", "internal/x": "x\n"}),
        C("t1", ["base"], {"keys/new.pem": "n\n", "src/b.py": "b\n"}),
        C("t2", ["t1"], {"keys/old.pem": "changed\n", "internal/y": "y\n"}),
        C("t3", ["t2"], {"keys/old.pem": "o\n"}),  # back to what the last synced commit had
        C("t4", ["t3"], {"keys/new.pem": None, "internal/x": None, "internal/y": None}),
        C("t5", ["t4"], {"keys/new.pem/inside.txt": "now a folder\n", "src/c.pem": "c\n"}),
        C("t6", ["t5"], {"src/c.pem": None, "internal/z": "z\n"}),
    ]
    ids = build(tmp_path / "src", steps)
    repo = pygit2.Repository(str(tmp_path / "src"))
    rules = Rules.compile(["*.pem", "internal/"], None)
    for last in (None, ids["base"]):
        listed: tuple[str, list[str]] | None = None
        for step in steps[1:]:
            tip = ids[step.name]
            expected = held_back(repo, rules, last, tip)
            assert held_back_from(repo, rules, last, tip, None, listed) == expected, step.name
            listed = (tip, expected)


# Files every content rule has something to say about, and many it has nothing to say about.
CONTENT_RICH: dict[str, FileSpec] = {
    **{f"src/pkg{i}/mod{j}.py": f"value = {i * 10 + j}\n" for i in range(6) for j in range(6)},
    "src/pkg2/settings.py": "# BEGIN-INTERNAL\nDB = 'db.corp'\n# BEGIN-PUBLIC\n# DB = None\n"
    "# END-PUBLIC\n# END-INTERNAL\nINDEX = 'https://pypi.corp.example/simple'\n",
    "docs/deep/er/hosts.md": "Mirror: PYPI.CORP.EXAMPLE and pypi.corp.example\r\n",
    "assets/logo.bin": (0o100644, b"\x89PNG\0\0pypi.corp.example\0"),  # binary: never edited
    "assets/big.txt": "filler\n" * 150_000 + "last line: pypi.corp.example\n",
    "odd/tab\tand\nnewline.md": "see pypi.corp.example",
    "odd/caf\u00e9 \u2603.txt": "pypi.corp.example\n",
    "cfg/.npmrc": "registry=https://registry.npmjs.org/\n",
    "link": (0o120000, b"src/pkg0/mod0.py"),
}


def test_no_cache_filters_the_last_synced_tree_exactly(tmp_path: Path, public: PublicRepos) -> None:
    """Without the cache the last synced tree is filtered whole, with a git grep first to find
    the files a content rule could touch (content_prefilter): the public commits are the ones
    the cached run writes, and under new content rules every old file reads as they say."""
    world = Checked(tmp_path, public, with_readme=True)
    world.commit(C("r1", (), CONTENT_RICH))
    first = world.checked()
    assert first["sections_changed"] == 1
    world.merge("ff")

    world.commit(C("r2", ["r1"], {"src/pkg3/new.py": "n = 1\n"}))
    cached = world.sync_report("--dry-run")
    shutil.rmtree(world.cache_dir())
    uncached = world.checked()
    assert uncached["head"] == cached["head"]
    assert pairs(uncached) == pairs(cached)

    # New content rules, and no cache: the next public tree is every file as they publish it.
    settings = {
        "target_repo": str(world.target),
        "exclude": EXCLUDE,
        "replace": [{"pattern": r"pypi\.corp\.example", "with": "pypi.org"}],
    }
    world.config.write_text(json.dumps(settings), encoding="utf-8")
    world.commit(C("r3", ["r2"], {"src/pkg4/new.py": "n = 2\n"}))
    shutil.rmtree(world.cache_dir(), ignore_errors=True)
    world.checked()

    def shown(path: str) -> bytes:
        done = git("show", f"{HEAD}:{path}", cwd=world.target)
        return done.encode("utf-8", "surrogateescape")

    assert shown("src/pkg2/settings.py") == b"DB = None\nINDEX = 'https://pypi.org/simple'\n"
    assert shown("docs/deep/er/hosts.md") == b"Mirror: PYPI.CORP.EXAMPLE and pypi.org\r\n"
    assert shown("assets/logo.bin") == b"\x89PNG\0\0pypi.corp.example\0"
    assert shown("assets/big.txt").endswith(b"last line: pypi.org\n")
    assert shown("odd/tab\tand\nnewline.md") == b"see pypi.org"
    assert shown("odd/caf\u00e9 \u2603.txt") == b"pypi.org\n"
    assert shown("src/pkg5/mod5.py") == b"value = 55\n"
