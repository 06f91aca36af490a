"""Azure DevOps, Bitbucket Cloud and Bitbucket Data Center pull requests: real pushes to a real
git server, and each forge's API stand-in checking every request and response against the
vendor's own API description (tests/contracts)."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from openapi_core import OpenAPI

from .conftest import SECRETS, PublicRepos, pubgate
from .contracts.trim_forges import OPERATIONS, trim
from .factory import C, build, git
from .githubserver import Fault
from .gitserver import GitHttpServer
from .vendorservers import CONTRACTS, FILES, SERVERS, ContractServer, Pull, contract

TOKEN = "vendor-forge-token-never-printed-4471"
SECRETS.add(TOKEN)
GUID = "3411ebc1-d5aa-464f-9615-0b527bc66719"
UUID = "{504c3b62-8120-4f0c-a7bc-87800b9d6f70}"
NAMES = {"azure": "Azure DevOps", "bitbucket": "Bitbucket", "bitbucket-server": "Bitbucket"}
# Where each forge keeps the repository (under the git server's root), and its key.
PLACES = {
    "azure": ("org/proj/_git/public.git", "org/proj/public"),
    "bitbucket": ("org/public.git", "org/public"),
    "bitbucket-server": ("scm/PRJ/public.git", "PRJ/public"),
}
# The token as each forge's setup puts it in the variable, and the user name git must send.
TOKENS = {
    "azure": (TOKEN, "x-access-token"),  # any user name goes with a personal access token
    "bitbucket": (TOKEN, "x-token-auth"),  # Bitbucket requires it with an access token
    "bitbucket-server": (f"ada:{TOKEN}", "ada"),  # a personal HTTP access token and its user
}


class VendorGitServer(GitHttpServer):
    """The smart-HTTP server, taking only the user name the forge requires."""

    def __init__(self, root: Path, token: str, user: str):
        super().__init__(root, token)
        self.user = user

    def _authorised(self, request: Any) -> str | None:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return None
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        return user if (user, password) == (self.user, self.token) else None


class Site:
    def __init__(self, tmp: Path, kind: str, git_server: VendorGitServer, api: ContractServer):
        self.tmp, self.kind, self.git, self.api = tmp, kind, git_server, api
        place, self.slug = PLACES[kind]
        self.bare = tmp / "forge" / place
        git("init", "-q", "--bare", "-b", "main", str(self.bare))
        build(self.bare, [C("init", (), {"README.md": "Public\n"})], bare=True)
        self.url = git_server.url(place)
        self.src = tmp / "src"
        self.ids: dict[str, str] = {}
        self.config = tmp / "pubgate.yaml"

    def configure(self, **extra: object) -> None:
        variable = "bitbucket_token_env" if "bitbucket" in self.kind else "azure_token_env"
        settings = {
            "target_repo": self.url,
            "forge": self.kind,
            "api_url": self.api.api_url,
            variable: "FORGE_TOKEN",
            "exclude": ["internal/"],
            **extra,
        }
        self.config.write_text(json.dumps(settings))

    def commit(self, *commits: C) -> None:
        self.ids = build(self.src, commits, known=self.ids)

    def sync(self, *args: str) -> tuple[int, dict[str, Any], str]:
        result = pubgate("--config", str(self.config), "--json", "sync", *args, cwd=self.src)
        assert TOKEN not in result.out + result.err
        return result.code, json.loads(result.out) if result.out else {}, result.err

    @property
    def pulls(self) -> list[Any]:
        return self.api.pulls.get(self.slug, [])


@pytest.fixture(params=sorted(SERVERS))
def site(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Site]:
    kind = request.param
    value, user = TOKENS[kind]
    monkeypatch.setenv("FORGE_TOKEN", value)
    (tmp_path / "forge").mkdir()
    with (
        VendorGitServer(tmp_path / "forge", TOKEN, user) as git_server,
        SERVERS[kind](tmp_path / "forge", TOKEN) as api,
    ):
        world = Site(tmp_path, kind, git_server, api)
        world.configure()
        yield world
        assert api.errors == [], "requests or responses broke the vendor's API description"
    git("fsck", "--strict", "--no-progress", cwd=world.bare)


def _page(site: Site, number: int) -> str:
    site_root = site.api.base
    return {
        "azure": f"{site_root}/org/proj/_git/public/pullrequest/{number}",
        "bitbucket": f"{site_root}/org/public/pull-requests/{number}",
        "bitbucket-server": f"{site_root}/projects/PRJ/repos/public/pull-requests/{number}",
    }[site.kind]


def test_open_then_update_never_a_second(site: Site) -> None:
    site.commit(C("a", (), {"src/a.py": "a\n", "internal/x": "s\n"}))
    code, report, err = site.sync()
    assert code == 0, err
    pull = report["pull_request"]
    assert pull == {"number": 1, "url": _page(site, 1), "created": True}
    site.commit(C("b", ["a"], {"b": "b\n"}))
    code, report, err = site.sync()
    assert code == 0, err
    assert report["pull_request"] == {**pull, "created": False}
    (opened,) = site.pulls
    assert (opened.head, opened.base, opened.state) == ("pubgate/sync", "main", "open")
    assert opened.title == "Sync 2 commits from main" and "internal/x" not in opened.body
    assert site.git.seen_auth and set(site.git.seen_auth) == {TOKENS[site.kind][1]}


def test_duplicate_falls_back_to_update(site: Site) -> None:
    site.commit(C("a", (), {"src/a.py": "a\n"}))
    assert site.sync()[0] == 0
    empty = {
        "azure": {"count": 0, "value": []},
        "bitbucket": {"values": [], "pagelen": 10, "size": 0, "page": 1},
        "bitbucket-server": {"values": [], "size": 0, "limit": 25, "isLastPage": True, "start": 0},
    }[site.kind]
    suffix = "/pull-requests" if site.kind == "bitbucket-server" else "/pullrequests"
    site.api.faults.append(Fault("GET", suffix, 200, body=empty))  # a listing that lags
    site.commit(C("b", ["a"], {"b": "b\n"}))
    code, report, err = site.sync()
    assert code == 0, err
    assert report["pull_request"]["created"] is False and len(site.pulls) == 1
    refused = {"azure": 409, "bitbucket": 400, "bitbucket-server": 409}[site.kind]
    assert [s for m, _, s in site.api.log if m == "POST"] == [201, refused]


def test_rate_limit_and_server_error_then_success(site: Site) -> None:
    site.commit(C("a", (), {"src/a.py": "a\n"}))
    suffix = "/pull-requests" if site.kind == "bitbucket-server" else "/pullrequests"
    headers = (
        {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(time.time()) + 1)}
        if site.kind == "azure"
        else {"retry-after": "1"}
    )
    site.api.faults += [
        Fault("POST", suffix, 429, headers, site.api.error_body("Too many requests")),
        Fault("POST", suffix, 503, body=site.api.error_body("unavailable")),
    ]
    code, _, err = site.sync()
    assert code == 0, err
    assert [s for m, _, s in site.api.log if m == "POST"] == [429, 503, 201]


def test_bad_token_and_missing_repository(site: Site, tmp_path: Path) -> None:
    site.commit(C("a", (), {"src/a.py": "a\n"}))
    site.api.token = "another"
    code, _, err = site.sync()
    assert code == 1 and err.startswith(f"error: {NAMES[site.kind]} rejected the token"), err
    assert "wrong or expired; set a valid one in $FORGE_TOKEN\n" in err
    site.api.token = TOKEN
    site.api.root = tmp_path / "nowhere"
    code, _, err = site.sync()
    assert code == 1 and f"{NAMES[site.kind]} has no repository" in err, err


def test_options_each_forge_takes(site: Site) -> None:
    reviewer = {"azure": GUID, "bitbucket": UUID, "bitbucket-server": "zoe"}[site.kind]
    labels = ["release"] if site.kind == "azure" else []
    site.configure(pr={"draft": True, "reviewers": [reviewer], "labels": labels})
    site.commit(C("a", (), {"src/a.py": "a\n"}))
    code, _, err = site.sync()
    assert code == 0, err
    (opened,) = site.pulls
    assert (opened.draft, opened.reviewers, opened.labels) == (True, [reviewer], labels)
    # An update keeps what the first run asked for.
    site.commit(C("b", ["a"], {"b": "b\n"}))
    assert site.sync()[0] == 0
    assert (opened.draft, opened.reviewers, opened.labels) == (True, [reviewer], labels)


def test_options_a_forge_cannot_honour_are_refused_before_pushing(site: Site) -> None:
    site.configure(
        pr={"reviewers": ["ada"]} if site.kind == "azure" else {"labels": ["x"]},
    )
    site.commit(C("a", (), {"src/a.py": "a\n"}))
    code, _, err = site.sync()
    # A config error, with the file and key, before anything is pushed.
    assert code == 2 and ("not supported on" in err or "not names" in err), err
    assert err.startswith(f"error: {site.config}:1: pr.") and err.count("\nhint: ") == 1
    assert site.pulls == [] and site.git.seen_auth == []


def test_superseded_release_is_closed_with_a_pointer(site: Site) -> None:
    site.configure(version={"bump": "patch"})
    site.commit(C("a", (), {"pyproject.toml": '[project]\nname="p"\nversion="1.0.0"\n'}))
    code, _, err = site.sync()
    assert code == 0, err
    code, second, err = site.sync("--bump", "minor")
    assert code == 0, err
    assert second["target"]["head_branch"] == "pubgate/release-v1.1.0"
    old, new = site.pulls
    assert (old.state, new.state) == ("closed", "open")
    assert old.body.startswith(f"Superseded by {second['pull_request']['url']}")
    assert second["superseded_branches"] == ["pubgate/release-v1.0.1"]
    # Opening, updating and closing used every operation the trimmed description keeps.
    assert site.api.operations == set(OPERATIONS[site.kind])


@pytest.mark.parametrize("site", ["azure"], indirect=True)
def test_a_long_body_is_cut_to_azure_devops_limit(site: Site) -> None:
    """Only Azure DevOps limits the description (4000 characters); it refuses a longer one."""
    site.configure(pr={"body": "x" * 5000 + "{commits}"})
    site.commit(C("a", (), {"src/a.py": "a\n"}))
    code, _, err = site.sync()
    assert code == 0, err
    (opened,) = site.pulls
    assert len(opened.body) == 4000 and opened.body.endswith("4000-character limit]")


@pytest.mark.parametrize("kind", sorted(SERVERS))
def test_contract_is_exactly_what_trim_makes_of_it(kind: str) -> None:
    """Regenerating is honest only if each committed file is the script's own output."""
    spec = json.loads((CONTRACTS / FILES[kind]).read_text())
    assert trim(spec, kind) == spec
    OpenAPI.from_dict(contract(kind))  # a valid description, as the stand-in reads it


@pytest.mark.parametrize("kind", sorted(SERVERS))
def test_the_contract_catches_a_bad_response(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The stand-in's own answers are checked too: a wrong type or value is an error."""
    server = SERVERS[kind]
    right = server._pr  # type: ignore[attr-defined]
    broken = {"azure": ("isDraft", "yes"), "bitbucket": ("state", "CLOSED")}.get(
        kind, ("version", "one")
    )

    def wrong(self: ContractServer, *args: Any) -> Any:
        return {**right(self, *args), broken[0]: broken[1]}

    monkeypatch.setattr(server, "_pr", wrong)
    place, slug = PLACES[kind]
    git("init", "-q", "--bare", "-b", "main", str(tmp_path / place))
    with server(tmp_path, TOKEN) as api:
        api.pulls[slug] = [Pull(1, "x", "main", "t", "b")]
        with httpx.Client() as client:
            if kind == "azure":
                client.get(
                    f"{api.api_url}/proj/_apis/git/repositories/public/pullrequests",
                    params={
                        "api-version": "7.1",
                        "searchCriteria.status": "active",
                        "searchCriteria.sourceRefName": "refs/heads/x",
                        "searchCriteria.targetRefName": "refs/heads/main",
                    },
                    headers={
                        "Authorization": "Basic " + base64.b64encode(f":{TOKEN}".encode()).decode()
                    },
                )
            elif kind == "bitbucket":
                client.get(
                    f"{api.api_url}/repositories/org/public/pullrequests",
                    params={
                        "state": "OPEN",
                        "q": 'source.branch.name = "x" AND destination.branch.name = "main"',
                    },
                    headers={"Authorization": f"Bearer {TOKEN}"},
                )
            else:
                client.get(
                    f"{api.api_url}/projects/PRJ/repos/public/pull-requests",
                    params={"state": "OPEN", "at": "refs/heads/x", "direction": "OUTGOING"},
                    headers={"Authorization": f"Bearer {TOKEN}"},
                )
        assert len(api.errors) == 1 and repr(broken[1]) in api.errors[0]


@pytest.mark.parametrize("kind", sorted(SERVERS))
def test_the_contract_catches_a_bad_request(kind: str, tmp_path: Path) -> None:
    """A misspelt key, a missing required parameter or a wrong type never passes unseen."""
    (tmp_path / "scm" / "PRJ").mkdir(parents=True)
    with SERVERS[kind](tmp_path, TOKEN) as api:
        auth = {"Authorization": f"Bearer {TOKEN}"}
        if kind == "azure":
            pulls = f"{api.api_url}/proj/_apis/git/repositories/public/pullrequests"
            basic = base64.b64encode(f":{TOKEN}".encode()).decode()
            auth = {"Authorization": f"Basic {basic}"}
            bad = [
                ("POST", pulls, {"api-version": "7.1"}, {"sourceRefName": "a", "isDrfat": True}),
                ("GET", pulls, {}, None),  # api-version is required
                ("PATCH", f"{pulls}/1", {"api-version": "7.1"}, {"title": 5}),
            ]
        elif kind == "bitbucket":
            pulls = f"{api.api_url}/repositories/org/public/pullrequests"
            bad = [
                ("POST", pulls, {}, {"type": "pullrequest", "tilte": "x"}),
                ("GET", pulls, {"state": "open"}, None),  # the enum is upper case
                ("PUT", f"{pulls}/1", {}, {"type": "pullrequest", "draft": "yes"}),
            ]
        else:
            pulls = f"{api.api_url}/projects/PRJ/repos/public/pull-requests"
            bad = [
                ("POST", pulls, {}, {"title": "x", "fromRef": {"idd": "refs/heads/a"}}),
                ("PUT", f"{pulls}/1", {}, {"version": "one", "title": "x"}),
                ("POST", f"{pulls}/1/decline", {}, {"comment": 3}),
            ]
        with httpx.Client() as client:
            for method, url, params, body in bad:
                before = len(api.errors)
                client.request(method, url, params=params, json=body, headers=auth)
                assert len(api.errors) > before, f"{method} {url} {params} {body} passed"


INTERNAL = {
    "azure": ("org/proj/_git/internal.git", "org/proj/internal"),
    "bitbucket": ("org/internal.git", "org/internal"),
    "bitbucket-server": ("scm/PRJ/internal.git", "PRJ/internal"),
}


@pytest.mark.parametrize("kind", sorted(SERVERS))
def test_absorb_opens_its_internal_pull_request_on_each_forge(
    kind: str, tmp_path: Path, public: PublicRepos, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Absorb pushes its branch to the internal repository with the user name the forge needs
    and opens one pull request there, updated (never duplicated) by the next contribution."""
    value, user = TOKENS[kind]
    monkeypatch.setenv("INTERNAL_TOKEN", value)
    place, slug = INTERNAL[kind]
    (tmp_path / "forge").mkdir()
    remote = tmp_path / "forge" / place
    git("init", "-q", "--bare", "-b", "main", str(remote))
    clone = tmp_path / "clone"
    build(clone, [C("a", (), {"src/app.py": "v1\n", "internal/plan.txt": "secret\n"})])
    bare = public.bare()
    with (
        VendorGitServer(tmp_path / "forge", TOKEN, user) as git_server,
        SERVERS[kind](tmp_path / "forge", TOKEN) as api,
    ):
        url = git_server.url(place)
        git("remote", "add", "origin", url, cwd=clone)
        basic = base64.b64encode(f"{user}:{TOKEN}".encode()).decode()
        git(
            "-c",
            f"http.extraHeader=Authorization: Basic {basic}",
            "push",
            "-q",
            "origin",
            "main",
            cwd=clone,
        )
        config = tmp_path / "pubgate.yaml"
        config.write_text(
            json.dumps(
                {
                    "source_repo": url,
                    "target_repo": str(bare),
                    "exclude": ["internal/"],
                    "source_forge": kind,
                    "source_api_url": api.api_url,
                    "source_token_env": "INTERNAL_TOKEN",
                }
            )
        )

        def run(*args: str) -> dict[str, Any]:
            done = pubgate("--config", str(config), "--json", *args, cwd=clone)
            assert done.code == 0, done.err
            assert TOKEN not in done.out + done.err
            return dict(json.loads(done.out))

        tip = run("sync", "--no-pr")["head"]
        for step, author in enumerate(("Zoe Contributor", "Yan Helper")):
            git("update-ref", "refs/heads/main", tip, cwd=bare)
            ids = build(
                bare,
                [C(f"p{step}", ["main"], {"src/app.py": f"v{step + 2}\n"}, author=author)],
                bare=True,
                known={"main": tip},
            )
            tip = ids[f"p{step}"]
            report = run("absorb")
            assert report["pushed"] and report["pull_request"]["created"] is (step == 0)
        (opened,) = api.pulls[slug]
        assert (opened.head, opened.base, opened.state) == ("pubgate/absorb", "main", "open")
        assert git("rev-parse", "pubgate/absorb", cwd=remote).strip() == report["head"]
        assert set(git_server.seen_auth) == {user}
        assert api.errors == [], "requests or responses broke the vendor's API description"
