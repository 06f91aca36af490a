"""leak_review: sync stages the public tip on the source's side, and only what the approved
branch there contains goes to the target. Real repositories throughout: a local bare
"internal remote" as the source, a bare public repository as the target."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from git_pubgate.config import LeakReviewPolicy, load
from git_pubgate.errors import ConfigError

from .conftest import PublicRepos, pubgate
from .factory import C, build, git


class Review:
    """An internal bare repository (the source and where the review branches live), and a
    public one."""

    def __init__(self, tmp: Path, public: PublicRepos, **extra: object):
        self.tmp = tmp
        self.internal = tmp / "internal.git"
        self.ids = build(
            self.internal,
            [
                C("a", (), {"src/app.py": "v1\n", "internal/plan.txt": "secret\n"}),
                C("b", ["a"], {"src/util.py": "u\n", "internal/notes": "n\n"}),
            ],
            bare=True,
        )
        self.target = public.bare()
        self.config = tmp / "pubgate.yaml"
        self.configure(**extra)

    def configure(self, **extra: object) -> None:
        settings = {
            "source_repo": str(self.internal),
            "target_repo": str(self.target),
            "exclude": ["internal/"],
            "leak_review": True,
            **extra,
        }
        self.config.write_text(json.dumps(settings))

    def commit(self, *commits: C) -> None:
        self.ids = build(self.internal, commits, bare=True, known=self.ids)

    def run(self, *args: str) -> tuple[int, dict[str, Any], str]:
        done = pubgate("--config", str(self.config), "--json", *args, cwd=self.tmp)
        return done.code, json.loads(done.out) if done.out else {}, done.err

    def text(self, *args: str) -> tuple[int, str]:
        done = pubgate("--config", str(self.config), *args, cwd=self.tmp)
        return done.code, done.err

    def target_refs(self) -> str:
        return git("ls-remote", str(self.target))

    def ref(self, branch: str) -> str | None:
        out = git(
            "rev-parse", "--verify", "-q", f"refs/heads/{branch}", cwd=self.internal, check=False
        )
        return out.strip() or None

    def approve(self, how: str = "merge") -> str:
        """Merge pubgate/stage into pubgate/approved as a forge would: a merge commit (its
        tree the stage's, as when the approved branch only ever took merges of the stage), a
        squash, or a fast-forward."""
        stage = self.ref("pubgate/stage")
        approved = self.ref("pubgate/approved")
        assert stage is not None
        if how == "ff" or approved is None:
            git("update-ref", "refs/heads/pubgate/approved", stage, cwd=self.internal)
            return stage
        tree = f"{stage}^{{tree}}"
        parents = ["-p", approved] + (["-p", stage] if how == "merge" else [])
        message = "Merge pull request #1 from pubgate/stage" if how == "merge" else "Squashed\n"
        made = git("commit-tree", tree, *parents, "-m", message, cwd=self.internal).strip()
        git("update-ref", "refs/heads/pubgate/approved", made, cwd=self.internal)
        return made


@pytest.fixture
def review(tmp_path: Path, public: PublicRepos) -> Review:
    return Review(tmp_path, public)


def test_stage_then_approve_then_publish_exactly_the_approved_tip(review: Review) -> None:
    # First run: the stage branch is written on the source side; nothing reaches the target;
    # without an approved branch there is nothing approved, which is said with the way out.
    code, _, err = review.run("sync")
    assert code == 1
    assert "error: refusing to publish, since pubgate/approved does not exist" in err
    staged = review.ref("pubgate/stage")
    assert staged is not None and f"push . {staged}:refs/heads/pubgate/approved" in err
    assert review.target_refs() == ""
    tree = git("ls-tree", "-r", "--name-only", staged, cwd=review.internal).split()
    assert tree == ["src/app.py", "src/util.py"]  # the public result, never the internal files

    # Approved by the printed command (a fast-forward that creates the branch).
    command = err.split("\nhint: ", 1)[1].rsplit("): ", 1)[1].strip()
    git(*command.split()[1:])
    assert review.ref("pubgate/approved") == staged

    code, report, err = review.run("sync")
    assert code == 0, err
    assert report["pushed"] and report["head"] == staged
    assert git("rev-parse", "pubgate/sync", cwd=review.target).strip() == staged
    assert report["leak_review"]["publishing"] == staged
    assert report["leak_review"]["staged"] is None  # nothing new waits

    # The public side merges; the source moves on: the new tip is staged, the target keeps
    # what it had.
    git("update-ref", "refs/heads/main", staged, cwd=review.target)
    before = review.target_refs()
    review.commit(C("c", ["b"], {"src/c.py": "c\n", "internal/c": "x\n"}))
    code, report, err = review.run("sync")
    assert code == 0, err
    second = review.ref("pubgate/stage")
    assert second != staged and report["leak_review"]["staged"] == second
    assert report["leak_review"]["stage_pushed"] and not report["pushed"]
    assert "git -C" in report["leak_review"]["approve_command"]
    assert review.target_refs() == before  # the target got no new refs

    # Approved by a merge commit: the next sync pushes the staged commit, never the merge.
    merge = review.approve("merge")
    code, report, err = review.run("sync")
    assert code == 0, err
    pushed = git("rev-parse", "pubgate/sync", cwd=review.target).strip()
    assert pushed == second != merge
    assert git("cat-file", "-e", merge, cwd=review.target, check=False) == ""
    assert "merge" not in git("log", "--format=%s", pushed, cwd=review.target).lower()


def test_publishes_what_was_approved_and_stages_what_came_after(review: Review) -> None:
    git("update-ref", "refs/heads/pubgate/approved", review.ids["a"], cwd=review.internal)
    code, _, err = review.run("sync")
    assert code == 1 and "which sync did not make" in err  # an internal commit: refused
    git("update-ref", "-d", "refs/heads/pubgate/approved", cwd=review.internal)
    review.run("sync")
    first = review.approve("ff")
    review.commit(C("c", ["b"], {"src/c.py": "c\n"}))
    code, report, err = review.run("sync")
    assert code == 0, err
    # The approved tip goes out, the newer one waits for review.
    assert git("rev-parse", "pubgate/sync", cwd=review.target).strip() == first
    waiting = review.ref("pubgate/stage")
    assert waiting != first and report["leak_review"]["staged"] == waiting
    assert git("merge-base", "--is-ancestor", first, waiting, cwd=review.internal) == ""
    assert review.target_refs().split()[1::2] == ["refs/heads/pubgate/sync"]

    code, report, err = review.run("sync")  # a rerun changes nothing
    assert code == 0, err and report["already_pushed"]
    assert report["leak_review"]["stage_pushed"] is False


def test_plan_shows_both_stages(review: Review) -> None:
    review.run("sync")
    review.approve("ff")
    review.commit(C("c", ["b"], {"src/c.py": "c\n"}))
    code, err = review.text("plan")
    assert code == 0, err
    assert "approved, not yet public:" in err and "would go to the target" in err
    assert "waiting for leak review:" in err and "1 new public commit" in err
    assert "sync would push" in err
    assert review.ref("pubgate/stage") is not None
    code, report, _ = review.run("plan")
    assert report["leak_review"]["publishing"] == review.ref("pubgate/approved")
    assert review.target_refs() == ""  # a plan pushes nothing


def test_squash_merged_approval_is_refused(review: Review) -> None:
    review.run("sync")
    review.approve("ff")
    assert review.run("sync")[0] == 0
    git("update-ref", "refs/heads/main", review.ref("pubgate/approved") or "", cwd=review.target)
    review.commit(C("c", ["b"], {"src/c.py": "c\n"}))
    assert review.run("sync")[0] == 0
    before = review.target_refs()
    squash = review.approve("squash")
    code, _, err = review.run("sync")
    assert code == 1
    assert f"holds {squash[:12]}, a copy of the staged commits that a squash or rebase" in err
    assert "\nhint: merge the leak review with a merge commit or a fast-forward" in err
    assert review.target_refs() == before


def test_hand_made_commit_on_the_approved_branch_is_refused(review: Review) -> None:
    review.run("sync")
    first = review.approve("ff")
    assert review.run("sync")[0] == 0
    before = review.target_refs()
    # Someone commits to the approved branch directly, with the trailer copied from a real
    # commit: its history is not what the rules produce, so it is refused by name.
    message = git("log", "-1", "--format=%B", first, cwd=review.internal)
    forged_tree = git(
        "mktree",
        cwd=review.internal,
        input=b"100644 blob " + _blob(review, b"leak\n") + b"\tleak\n",
    ).strip()
    forged = git(
        "commit-tree", forged_tree, "-p", first, "-m", message, cwd=review.internal
    ).strip()
    git("update-ref", "refs/heads/pubgate/approved", forged, cwd=review.internal)
    code, _, err = review.run("sync")
    assert code == 1
    assert f"the approved branch holds {forged[:12]}, which sync did not make" in err
    assert "hint: only what sync staged can go out" in err
    assert review.target_refs() == before
    # Without a trailer too.
    plain = git("commit-tree", forged_tree, "-p", first, "-m", "fix", cwd=review.internal).strip()
    git("update-ref", "refs/heads/pubgate/approved", plain, cwd=review.internal)
    code, _, err = review.run("sync")
    assert code == 1 and f"holds {plain[:12]}, which sync did not make" in err
    assert review.target_refs() == before


def _blob(review: Review, data: bytes) -> bytes:
    return git("hash-object", "-w", "--stdin", cwd=review.internal, input=data).strip().encode()


def test_without_leak_review_the_flow_is_unchanged(review: Review) -> None:
    review.configure(leak_review=False)
    code, report, err = review.run("sync")
    assert code == 0, err
    assert report["pushed"] and report["leak_review"] is None
    assert review.ref("pubgate/stage") is None


@pytest.mark.parametrize(
    ("setting", "problem"),
    [
        ({"leak_review": "yes"}, "leak_review: expected a mapping, got a string"),
        ({"leak_review": {"stage": "x"}}, "leak_review.stage: unknown key"),
        ({"leak_review": {"stage_branch": "a..b"}}, "'a..b' is not a valid branch name"),
        (
            {"leak_review": {"stage_branch": "review", "approved_branch": "review"}},
            "leak_review.approved_branch: is 'review', the same branch as stage_branch",
        ),
        (
            {"leak_review": True, "message": {"trailer": False}},
            "leak_review: the leak review needs message.trailer",
        ),
        (
            {"leak_review": {"approved_branch": "main"}, "source_branch": "main"},
            "leak_review.approved_branch: is 'main', the branch being published",
        ),
    ],
)
def test_bad_leak_review_settings_are_config_errors(
    review: Review, setting: dict[str, object], problem: str
) -> None:
    review.configure(**setting)
    code, err = review.text("sync")
    assert code == 2
    assert err.startswith("error: ") and problem in err and "\nhint: " in err
    assert "Traceback" not in err
    assert review.ref("pubgate/stage") is None and review.target_refs() == ""


def test_each_target_gets_its_own_branches(tmp_path: Path) -> None:
    path = tmp_path / "pubgate.yaml"
    path.write_text(
        json.dumps(
            {
                "leak_review": True,
                "targets": {
                    "tracing": {"root": "libs/tracing/", "target_repo": "/srv/tracing.git"},
                    "retry": {
                        "root": "libs/retry/",
                        "target_repo": "/srv/retry.git",
                        "leak_review": {"approved_branch": "ok/retry"},
                    },
                    "plain": {"target_repo": "/srv/plain.git", "leak_review": False},
                },
            }
        )
    )
    tracing, retry, plain = load(path).targets
    assert tracing.leak_review == LeakReviewPolicy(
        "pubgate/tracing/stage", "pubgate/tracing/approved"
    )
    assert retry.leak_review == LeakReviewPolicy("pubgate/retry/stage", "ok/retry")
    assert plain.leak_review is None
    single = tmp_path / "single.yaml"
    single.write_text(json.dumps({"target_repo": "/srv/x.git", "leak_review": None}))
    assert load(single).leak_review == LeakReviewPolicy("pubgate/stage", "pubgate/approved")

    path.write_text(
        json.dumps(
            {
                "leak_review": {"stage_branch": "review/stage"},
                "targets": {"a": {"target_repo": "/srv/a.git"}, "b": {"target_repo": "/srv/b.git"}},
            }
        )
    )
    with pytest.raises(ConfigError) as refused:
        load(path)
    assert "targets.b.leak_review.stage_branch: is 'review/stage'" in refused.value.message
    assert "target 'a' too" in refused.value.message


def test_rebase_merged_approval_is_refused(review: Review) -> None:
    review.run("sync")
    first = review.approve("ff")
    assert review.run("sync")[0] == 0
    git("update-ref", "refs/heads/main", first, cwd=review.target)
    review.commit(C("c", ["b"], {"src/c.py": "c\n"}))
    assert review.run("sync")[0] == 0
    stage = review.ref("pubgate/stage")
    assert stage is not None
    before = review.target_refs()
    # What a forge's "rebase and merge" makes: the same message and tree, a new committer.
    message = git("log", "-1", "--format=%B", stage, cwd=review.internal)
    copy = git(
        "-c",
        "user.name=Forge",
        "-c",
        "user.email=forge@corp.example",
        "commit-tree",
        f"{stage}^{{tree}}",
        "-p",
        first,
        "-m",
        message,
        cwd=review.internal,
    ).strip()
    assert copy != stage
    git("update-ref", "refs/heads/pubgate/approved", copy, cwd=review.internal)
    code, _, err = review.run("sync")
    assert code == 1 and f"holds {copy[:12]}, a copy of the staged commits" in err
    assert review.target_refs() == before


def test_an_approval_the_public_side_overtook_is_reported_not_published(review: Review) -> None:
    review.run("sync")
    first = review.approve("ff")
    review.commit(C("c", ["b"], {"src/c.py": "c\n"}))
    assert review.run("sync")[0] == 0  # publishes the first approval, stages c
    second = review.approve("merge")
    # The public pull request is squash-merged before the second approval goes out.
    squash = git(
        "commit-tree", f"{first}^{{tree}}", "-m", "Sync 2 commits (#1)", cwd=review.target
    ).strip()
    git("update-ref", "refs/heads/main", squash, cwd=review.target)
    git("update-ref", "-d", "refs/heads/pubgate/sync", cwd=review.target)
    code, report, err = review.run("sync")
    assert code == 0, err
    assert report["leak_review"]["publishing"] is None and not report["pushed"]
    assert "staged before the target changed" in report["leak_review"]["notes"][0]
    restaged = report["leak_review"]["staged"]
    assert restaged not in (None, second) and review.ref("pubgate/stage") == restaged
    assert git("rev-parse", f"{restaged}~1", cwd=review.internal).strip() == squash
    refs = git("for-each-ref", "--format=%(refname)", cwd=review.target).split()
    assert refs == ["refs/heads/main"]


def test_release_commit_is_reviewed_and_published_as_staged(review: Review) -> None:
    review.commit(C("p", ["b"], {"pyproject.toml": '[project]\nname = "x"\nversion = "0.1.0"\n'}))
    review.configure(version={"bump": "minor"})
    review.run("sync")
    staged = review.ref("pubgate/stage")
    assert staged is not None
    assert "Pubgate-Release: 0.2.0" in git("log", "-1", "--format=%B", staged, cwd=review.internal)
    review.approve("ff")
    code, report, err = review.run("sync")
    assert code == 0, err
    assert report["release"]["version"] == "0.2.0" and report["head"] == staged
    branch = report["target"]["head_branch"]
    assert git("rev-parse", branch, cwd=review.target).strip() == staged


def test_monorepo_targets_are_reviewed_each_on_their_own_branches(
    tmp_path: Path, public: PublicRepos
) -> None:
    src = tmp_path / "src"
    build(
        src,
        [
            C("a", (), {"libs/a/x.py": "a\n", "libs/b/y.py": "b\n", "libs/a/internal/k": "s\n"}),
            C("b", ["a"], {"libs/b/y.py": "b2\n", "tools/t.sh": "t\n"}),
        ],
    )
    targets = {"liba": public.bare("a.git"), "libb": public.bare("b.git")}
    config = tmp_path / "pubgate.yaml"
    config.write_text(
        json.dumps(
            {
                "exclude": ["internal/"],
                "leak_review": True,
                "targets": {
                    name: {"root": f"libs/{name[-1]}/", "target_repo": str(path)}
                    for name, path in targets.items()
                },
            }
        )
    )
    first = pubgate("--config", str(config), "sync", cwd=src)
    assert first.code == 1
    assert "error: liba: refusing to publish, since pubgate/liba/approved does not" in first.err
    stages = {name: git("rev-parse", f"pubgate/{name}/stage", cwd=src).strip() for name in targets}
    assert git("ls-tree", "-r", "--name-only", stages["liba"], cwd=src).split() == ["x.py"]
    assert git("ls-tree", "-r", "--name-only", stages["libb"], cwd=src).split() == ["y.py"]
    assert all(git("for-each-ref", cwd=path) == "" for path in targets.values())

    # Only liba is approved: only liba is published.
    git("branch", "pubgate/liba/approved", stages["liba"], cwd=src)
    again = pubgate("--config", str(config), "sync", cwd=src)
    assert again.code == 1 and "libb: refusing to publish" in again.err
    assert git("rev-parse", "pubgate/sync", cwd=targets["liba"]).strip() == stages["liba"]
    assert git("for-each-ref", cwd=targets["libb"]) == ""


def test_check_commands_pass_before_the_stage_is_written(review: Review) -> None:
    review.configure(check_commands=["exit 3"])
    for dry in ((), ("--dry-run",)):
        code, _, err = review.run("sync", *dry)
        assert code == 1 and "check command failed with exit code 3: exit 3" in err
        assert review.ref("pubgate/stage") is None and review.target_refs() == ""

    review.configure(check_commands=["test -f src/app.py", "test ! -e internal"])
    code, _, err = review.run("sync")
    assert code == 1 and "does not exist" in err  # staged, after the checks passed
    staged = review.ref("pubgate/stage")
    assert staged is not None
    review.approve("ff")
    code, report, err = review.run("sync")
    assert code == 0, err
    assert report["head"] == staged and report["checks"]["remembered"] is True
