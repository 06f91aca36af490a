"""Network faults on both servers a sync talks to: git's smart HTTP and the forge API.

Each fault (connection reset, a stalled connection, 500, a response cut off mid-body) is
injected into real traffic. A few are retried away; too many give one clear error saying what
was already done, and a plain rerun finishes the job.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from git_pubgate import cli, gitio
from git_pubgate.forge.http import Api
from git_pubgate.gitio import is_transient

from .factory import C, git
from .githubserver import Fault, GitHubApiServer
from .githubsite import TOKEN, Site, github_site
from .loopback import NETWORK_FAULTS, NetworkFault


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    # Real waits, shortened: the retry logic is what is under test, not the clock. Still long
    # enough that no healthy request on a busy machine (two suites on two cores) times out:
    # only the "timeout" fault, which stalls twice as long, may.
    monkeypatch.setattr(gitio, "BACKOFF", (0.05, 0.1))
    monkeypatch.setattr(gitio, "STALL_SECONDS", 4)
    monkeypatch.setattr(cli, "API_TIMEOUT", 4.0)
    with github_site(tmp_path, monkeypatch) as world:
        world.git.stall = world.api.stall = 8.0
        world.initial_readme()
        world.commit(C("a", (), {"src/a.py": "a\n", "internal/x": "s\n"}))
        yield world


# Where each fault lands: the ref advertisement every command starts with, or the pack upload.
PLACES = [("info/refs", "GET"), ("git-receive-pack", "POST")]


@pytest.mark.parametrize("kind", NETWORK_FAULTS)
@pytest.mark.parametrize(("path", "method"), PLACES)
def test_one_git_fault_is_retried_away(site: Site, kind: str, path: str, method: str) -> None:
    site.git.network_faults.append(NetworkFault(kind, path, method))
    code, report, err = site.sync()
    assert code == 0, err
    assert [f[0] for f in site.git.faulted] == [kind]
    assert site.head() == report["head"]
    assert report["pull_request"]["created"] is True  # type: ignore[index]


@pytest.mark.parametrize("kind", ["reset", "500", "truncated"])
def test_a_git_outage_is_one_clear_error_and_a_rerun_finishes(site: Site, kind: str) -> None:
    site.git.network_faults += [NetworkFault(kind, "git-receive-pack") for _ in range(3)]
    code, _, err = site.sync()
    assert code == 1
    lines = err.strip().splitlines()
    assert lines[0].startswith("error: pushing pubgate/sync to http://127.0.0.1:")
    assert "failed (3 attempts):" in lines[0]
    assert lines[1].startswith("hint: nothing reached the target; the rewrite is kept")
    assert len(lines) == 2 and site.head() is None and site.api.pulls == {}
    code, report, err = site.sync()
    assert code == 0, err
    assert site.head() == report["head"] and report["pull_request"]["created"] is True  # type: ignore[index]


def test_a_push_that_landed_although_its_answer_was_lost(site: Site) -> None:
    """The server took the pack, then the connection broke: the retry sees the branch there."""
    pushed: list[str] = []
    original = site.git.handle

    def take_then_cut(request):  # type: ignore[no-untyped-def]
        if "git-receive-pack" in request.path and request.command == "POST" and not pushed:
            pushed.append(request.path)
            original(request)  # the push is applied, then the reply is lost
            request.close_connection = True
            request.wfile.flush()
            return
        original(request)

    site.git.handle = take_then_cut  # type: ignore[method-assign]
    code, report, err = site.sync()
    assert code == 0, err
    assert site.head() == report["head"]


@pytest.mark.parametrize("kind", NETWORK_FAULTS)
def test_api_faults_are_retried(site: Site, kind: str) -> None:
    site.api.network_faults.append(NetworkFault(kind, "/pulls"))
    code, _, err = site.sync()
    assert code == 0, err
    assert [f[0] for f in site.api.faulted] == [kind]
    assert len(site.api.pulls["org/public"]) == 1


def test_api_outage_after_the_push_says_the_push_is_done(site: Site) -> None:
    site.api.network_faults += [NetworkFault("500", "/pulls") for _ in range(3)]
    code, _, err = site.sync()
    assert code == 1
    assert "error: GitHub answered 500 to GET /repos/org/public/pulls, 3 times" in err
    assert "the push is done" in err
    assert site.head() is not None and site.api.pulls == {}
    code, report, err = site.sync()
    assert code == 0, err
    assert report["already_pushed"] is True and report["pull_request"]["created"] is True  # type: ignore[index]


def test_429_without_retry_after_waits_a_minute(tmp_path: Path) -> None:
    """GitHub documents "wait at least one minute" when a 429 names no time."""
    waits: list[float] = []
    git("init", "-q", "--bare", str(tmp_path / "org" / "public.git"))
    with GitHubApiServer(tmp_path, TOKEN) as api, httpx.Client(timeout=5) as client:
        api.faults.append(Fault("GET", "/pulls", 429, body={"message": "slow down"}))
        github = Api(
            client,
            api.api_url,
            {
                "Authorization": f"Bearer {TOKEN}",
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": "2022-11-28",
            },
            forge="GitHub",
            repo="org/public",
            sleep=waits.append,
        )
        query = {"state": "open", "head": "org:pubgate/sync", "base": "main"}
        response = github.request("GET", "/repos/org/public/pulls", params=query)
        assert response.status_code == 200 and response.json() == []
        assert waits == [60.0]
        assert api.errors == []


@pytest.mark.parametrize(
    ("stderr", "transient"),
    [
        ("fatal: unable to access 'https://h/r/': Recv failure: Connection reset by peer", True),
        ("error: RPC failed; HTTP 500 curl 22 The requested URL returned error: 500", True),
        ("fatal: the remote end hung up unexpectedly", True),
        ("error: Operation too slow. Less than 1 bytes/sec transferred the last 1 seconds", True),
        ("fatal: unable to access 'https://h/r/': The requested URL returned error: 403", False),
        ("fatal: Authentication failed for 'https://h/r/'", False),
        (" ! [rejected]        x -> x (stale info)", False),
        ("remote: Repository not found.\nfatal: repository 'https://h/r/' not found", False),
        ("fatal: 'x' does not appear to be a git repository", False),
        ("fatal: unable to access 'https://h/r/': SSL certificate problem: self-signed", False),
    ],
)
def test_which_git_failures_are_retried(stderr: str, transient: bool) -> None:
    assert is_transient(stderr) is transient


def test_two_syncs_from_two_clones_race_to_one_pull_request(site: Site, tmp_path: Path) -> None:
    """Two CI runners with their own clones (so no shared lock) sync at the same moment: both
    compute the same head; when both read the branch as absent, one push wins and the other's
    lease fails but finds the branch at that very commit; one pull request either way."""
    clones = []
    for name in ("runner1", "runner2"):
        clone = tmp_path / name
        git("clone", "-q", str(site.src), str(clone))
        clones.append(clone)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
    command = [sys.executable, "-m", "git_pubgate", "--config", str(site.config), "--json", "sync"]
    for _ in range(3):  # rerun the race: the second and third find everything in place
        runs = [
            subprocess.Popen(
                command, cwd=c, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
            )
            for c in clones
        ]
        results = [(*p.communicate(), p.returncode) for p in runs]
        for _, err, code in results:
            assert code == 0, err.decode()
        heads = {json.loads(out)["head"] for out, _, _ in results}
        assert len(heads) == 1 and site.head() in heads
        assert len(site.api.pulls["org/public"]) == 1
