"""What is inside published files, end to end: sections, replacements, secrets, defaults and
the configuration file itself, through sync, plan, audit and the pre-push hook."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml

from git_pubgate.config import STARTER, load
from git_pubgate.report import SyncReport, pull_request_text
from git_pubgate.sections import public_text

from .conftest import PublicRepos, pubgate
from .factory import C, build, git

PASSWORD = "hunter2-internal-db-password"
RSA_KEY = (
    "-----BEGIN RSA PRIVATE KEY-----\n"
    "MIIEowIBAAKCAQEAvq3m8Y0XgPrVqUe7Jm1d2x9LQoKf3sYt5aHb1N2r0Zc4e6f7\n"
    "-----END RSA PRIVATE KEY-----\n"
)
APP = (
    "import os\n"
    "\n"
    "# BEGIN-INTERNAL\n"
    f"DB_PASSWORD = '{PASSWORD}'\n"
    "# BEGIN-PUBLIC\n"
    "# DB_PASSWORD = os.environ['DB_PASSWORD']\n"
    "# END-PUBLIC\n"
    "# END-INTERNAL\n"
    "print('hello')\n"
)
# A GitHub token's shape, made at run time so this file holds none.
FAKE_TOKEN = "ghp_" + "Zx9" * 12


def files_of(repo: Path, rev: str) -> dict[str, str]:
    names = git("ls-tree", "-r", "--name-only", rev, cwd=repo).split()
    return {n: git("show", f"{rev}:{n}", cwd=repo) for n in names}


def every_blob(repo: Path) -> bytes:
    """Every blob the public repository holds, uncompressed, in one buffer."""
    listing = git(
        "cat-file", "--batch-all-objects", "--batch-check=%(objectname) %(objecttype)", cwd=repo
    )
    ids = [line.split()[0] for line in listing.splitlines() if line.endswith(" blob")]
    done = subprocess.run(
        ["git", "cat-file", "--batch"],
        cwd=repo,
        input="\n".join(ids).encode() + b"\n",
        capture_output=True,
        check=True,
    )
    return done.stdout


def scenario(tmp_path: Path, public: PublicRepos, **settings: object) -> tuple[Path, Path]:
    """The issue's new user: config at the root, a sectioned app.py and an id_rsa."""
    src = tmp_path / "src"
    target = public.bare()
    config = {"target_repo": str(target), "exclude": ["docs/internal/", "deploy/"], **settings}
    build(
        src,
        [
            C(
                "a",
                (),
                {
                    "pubgate.yaml": yaml.safe_dump(config),
                    "README.md": "readme\n",
                    "app.py": APP,
                    "id_rsa": RSA_KEY,
                    "id_rsa.pub": "ssh-rsa AAAA public\n",
                    "docs/internal/plan.md": "plan\n",
                    "deploy/prod.sh": "deploy\n",
                    ".env": f"DB_PASSWORD={PASSWORD}\n",
                    ".env.example": "DB_PASSWORD=\n",
                },
            )
        ],
    )
    return src, target


def test_the_new_users_scenario_publishes_no_password_key_or_config(
    tmp_path: Path, public: PublicRepos
) -> None:
    src, target = scenario(tmp_path, public)
    plan = pubgate("--json", "plan", cwd=src)
    assert plan.code == 0, plan.err
    report = json.loads(plan.out)
    assert report["held_back_by_default"] == [".env", "id_rsa", "pubgate.yaml"]
    assert report["sections_changed"] == 1
    assert PASSWORD not in plan.out + plan.err
    shutil.rmtree(src / ".git" / "pubgate")  # plan's held-back list comes from a fresh read
    human = pubgate("-v", "plan", cwd=src)
    assert "  id_rsa  (by default)" in human.err
    assert "internal sections removed from 1 changed file" in human.err

    result = pubgate("sync", "--no-pr", cwd=src)
    assert result.code == 0, result.err
    published = files_of(target, "pubgate/sync")
    assert sorted(published) == [".env.example", "README.md", "app.py", "id_rsa.pub"]
    assert published["app.py"] == (
        "import os\n\nDB_PASSWORD = os.environ['DB_PASSWORD']\nprint('hello')\n"
    )
    blobs = every_blob(target)
    for leak in (PASSWORD.encode(), b"PRIVATE KEY", b"docs/internal", b"INTERNAL"):
        assert leak not in blobs


def test_an_unclosed_marker_in_an_old_commit_stops_a_first_sync(
    tmp_path: Path, public: PublicRepos
) -> None:
    src = tmp_path / "src"
    target = public.bare()
    ids = build(
        src,
        [
            C("a", (), {"README.md": "r\n"}),
            C("b", ["a"], {"lib/x.py": "a = 1\n# BEGIN-INTERNAL\nsecret = 2\n"}),
            C("c", ["b"], {"lib/x.py": "a = 1\n"}),
        ],
    )
    (tmp_path / "pubgate.yaml").write_text(json.dumps({"target_repo": str(target)}))
    result = pubgate("--config", str(tmp_path / "pubgate.yaml"), "sync", "--no-pr", cwd=src)
    assert result.code == 1
    assert (
        f"error: refusing to publish {ids['b'][:12]}, since lib/x.py:2: BEGIN-INTERNAL is never "
        "closed"
    ) in result.err
    assert "hint:" in result.err and "secret = 2" not in result.err
    assert "Traceback" not in result.err
    assert git("for-each-ref", cwd=target) == ""


def test_a_secret_stops_sync_and_allow_takes_its_fingerprint(
    tmp_path: Path, public: PublicRepos
) -> None:
    src = tmp_path / "src"
    target = public.bare()
    ids = build(
        src,
        [
            C("a", (), {"README.md": "r\n"}),
            C("b", ["a"], {"tests/fixture.txt": f"a\nexample = '{FAKE_TOKEN}'\n"}),
        ],
    )
    config = tmp_path / "pubgate.yaml"
    config.write_text(json.dumps({"target_repo": str(target)}))
    result = pubgate("--config", str(config), "sync", "--no-pr", cwd=src)
    assert result.code == 1
    assert (
        f"refusing to publish {ids['b'][:12]}, since tests/fixture.txt:2 holds a GitHub token"
    ) in result.err
    assert FAKE_TOKEN not in result.err and FAKE_TOKEN[4:12] not in result.err
    assert git("for-each-ref", cwd=target) == ""
    mark = result.err.split("(fingerprint ")[1][:20]
    assert f"add '{mark}' to secrets.allow" in result.err

    config.write_text(json.dumps({"target_repo": str(target), "secrets": {"allow": [mark]}}))
    result = pubgate("--config", str(config), "sync", "--no-pr", cwd=src)
    assert result.code == 0, result.err
    assert FAKE_TOKEN in files_of(target, "pubgate/sync")["tests/fixture.txt"]

    config.write_text(json.dumps({"target_repo": str(target), "secrets": False}))
    plan = pubgate("--config", str(config), "plan", cwd=src)
    assert "secret scan: off (secrets: false)" in plan.err


def test_the_value_of_a_configured_token_variable_is_a_secret(
    tmp_path: Path, public: PublicRepos, monkeypatch: pytest.MonkeyPatch
) -> None:
    value = "s3cr3t-" + "pypi-value-1234"
    src = tmp_path / "src"
    target = public.bare()
    build(src, [C("a", (), {"ci/upload.sh": f"twine upload -p {value}\n"})])
    config = tmp_path / "pubgate.yaml"
    config.write_text(json.dumps({"target_repo": str(target), "pypi_token_env": "MY_PYPI"}))
    monkeypatch.setenv("MY_PYPI", value)
    result = pubgate("--config", str(config), "sync", "--no-pr", cwd=src)
    assert result.code == 1
    assert "ci/upload.sh:1 holds a the value of $MY_PYPI" in result.err
    assert value not in result.err


def test_replacements_and_their_config_errors(tmp_path: Path, public: PublicRepos) -> None:
    src = tmp_path / "src"
    target = public.bare()
    build(src, [C("a", (), {"setup.cfg": "index = https://pypi.corp.example/simple\n"})])
    config = tmp_path / "pubgate.yaml"
    rule = {"pattern": r"pypi\.corp\.example", "with": "pypi.org", "paths": ["*.cfg"]}
    config.write_text(json.dumps({"target_repo": str(target), "replace": [rule]}))
    assert pubgate("--config", str(config), "sync", "--no-pr", cwd=src).code == 0
    assert files_of(target, "pubgate/sync")["setup.cfg"] == "index = https://pypi.org/simple\n"
    for bad in ({"pattern": "(", "with": ""}, {"pattern": "a", "with": r"\1"}):
        config.write_text(json.dumps({"target_repo": str(target), "replace": [bad]}))
        result = pubgate("--config", str(config), "plan", cwd=src)
        assert result.code == 2 and "replace[0]." in result.err and "hint:" in result.err


def test_defaults_off_and_re_include(tmp_path: Path, public: PublicRepos) -> None:
    src = tmp_path / "src"
    target = public.bare()
    build(
        src,
        [
            C(
                "a",
                (),
                {
                    "tests/fixture.pem": "not a real key\n",
                    "server.key": "k\n",
                    ".npmrc": "//registry.npmjs.org/:_authToken=abc123\n",
                    "web/.npmrc": "//registry.npmjs.org/:_authToken=${NPM_TOKEN}\n",
                    "README.md": "r\n",
                },
            )
        ],
    )
    config = tmp_path / "pubgate.yaml"
    config.write_text(json.dumps({"target_repo": str(target), "exclude": ["!tests/fixture.pem"]}))
    plan = pubgate("--config", str(config), "--json", "plan", cwd=src)
    assert json.loads(plan.out)["held_back_by_default"] == [".npmrc", "server.key"]
    assert pubgate("--config", str(config), "sync", "--no-pr", cwd=src).code == 0
    assert sorted(files_of(target, "pubgate/sync")) == [
        "README.md",
        "tests/fixture.pem",
        "web/.npmrc",
    ]
    config.write_text(json.dumps({"target_repo": str(target), "defaults": False}))
    plan = pubgate("--config", str(config), "--json", "plan", cwd=src)
    assert json.loads(plan.out)["held_back_by_default"] == []


def test_a_published_config_must_keep_internal_keys_in_markers(
    tmp_path: Path, public: PublicRepos
) -> None:
    src = tmp_path / "src"
    target = public.bare()
    text = (
        f'target_repo: "{target}"\npublish_config: true\npypi_package_name: "demo"\n'
        '# BEGIN-INTERNAL\nexclude: ["secret/"]\n# END-INTERNAL\n'
    )
    ids = build(src, [C("a", (), {"pubgate.yaml": text, "README.md": "r\n"})])
    assert pubgate("sync", "--no-pr", cwd=src).code == 0
    public_config = files_of(target, "pubgate/sync")["pubgate.yaml"]
    assert "exclude" not in public_config and "secret/" not in public_config
    # publish reads it as it is: the public side's configuration.
    clone = tmp_path / "public-clone"
    git("clone", "-q", "-b", "pubgate/sync", str(target), str(clone))
    loaded = load(clone / "pubgate.yaml")
    assert loaded.pypi_package_name == "demo" and loaded.exclude == ()

    leaky = text.replace("# BEGIN-INTERNAL\n", "").replace("# END-INTERNAL\n", "")
    ids = build(src, [C("b", ["a"], {"pubgate.yaml": leaky})], known=ids)
    result = pubgate("sync", "--no-pr", cwd=src)
    assert result.code == 1
    assert (
        f"refusing to publish {ids['b'][:12]}, since pubgate.yaml: its public version still "
        "holds the internal-only key 'exclude'"
    ) in result.err


def test_pyproject_config_internal_keys_must_sit_in_markers(
    tmp_path: Path, public: PublicRepos
) -> None:
    src = tmp_path / "src"
    target = public.bare()
    good = (
        '[project]\nname = "demo"\nversion = "1.0"\n\n[tool.pubgate]\n'
        f'target_repo = "{target}"\n# BEGIN-INTERNAL\nexclude = ["secret/"]\n# END-INTERNAL\n'
    )
    ids = build(src, [C("a", (), {"pyproject.toml": good})])
    assert pubgate("sync", "--no-pr", cwd=src).code == 0
    published = tomllib.loads(files_of(target, "pubgate/sync")["pyproject.toml"])
    assert published["tool"]["pubgate"] == {"target_repo": str(target)}
    leaky = good.replace("# BEGIN-INTERNAL\n", "").replace("# END-INTERNAL\n", "")
    build(src, [C("b", ["a"], {"pyproject.toml": leaky})], known=ids)
    result = pubgate("sync", "--no-pr", cwd=src)
    assert result.code == 1 and "internal-only key 'exclude'" in result.err


def test_init_writes_the_markers_so_the_config_can_be_published(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    build(repo, [C("a", (), {"README.md": "r\n"})])
    assert pubgate("init", cwd=repo).code == 0
    written = (repo / "pubgate.yaml").read_text()
    assert written == STARTER and "# BEGIN-INTERNAL\n" in written
    public_yaml = yaml.safe_load(public_text(written.encode()).data)
    assert not {"source_repo", "exclude", "include", "message", "replace"} & set(public_yaml)
    assert "exclude" in yaml.safe_load(written)


def test_incremental_and_from_scratch_ids_are_equal_with_every_feature_on(
    tmp_path: Path, public: PublicRepos
) -> None:
    src = tmp_path / "src"
    target = public.bare()
    config = {
        "target_repo": str(target),
        "exclude": ["secret/"],
        "publish_config": True,
        "replace": [{"pattern": "corp\\.example", "with": "example.org"}],
        "secrets": {"allow": []},
    }
    config_text = (
        f"target_repo: {target}\npublish_config: true\n# BEGIN-INTERNAL\n"
        + yaml.safe_dump(
            {k: v for k, v in config.items() if k not in ("target_repo", "publish_config")}
        )
        + "# END-INTERNAL\n"
    )

    def change(n: int) -> dict[str, object]:
        return {
            f"src/m{n % 3}.py": f"# host db.corp.example\n# BEGIN-INTERNAL\nx = {n}\n"
            "# END-INTERNAL\n",
            f"secret/s{n}.md": "s\n",
            f"keys/k{n}.pem": "k\n",
            ".gitattributes": "*.bin binary\n" if n >= 3 else "",
        }

    first = [C("c0", (), {"pubgate.yaml": config_text, **change(0)})]
    first += [C(f"c{n}", [f"c{n - 1}"], change(n)) for n in range(1, 4)]
    ids = build(src, first)
    assert pubgate("sync", "--no-pr", cwd=src).code == 0
    git("update-ref", "refs/heads/main", "refs/heads/pubgate/sync", cwd=target)
    more = [C(f"c{n}", [f"c{n - 1}"], change(n)) for n in range(4, 8)]
    build(src, more, known=ids)
    result = pubgate("--json", "sync", "--no-pr", cwd=src)
    assert result.code == 0, result.err
    incremental = git("rev-parse", "pubgate/sync", cwd=target).strip()

    shutil.rmtree(src / ".git" / "pubgate")
    scratch = public.bare("scratch.git")
    text = (src / "pubgate.yaml").read_text().replace(str(target), str(scratch))
    (src / "pubgate.yaml").write_text(text)
    # The config in the work tree now names the other target; the committed one is unchanged.
    result = pubgate("sync", "--no-pr", cwd=src)
    assert result.code == 0, result.err
    assert git("rev-parse", "pubgate/sync", cwd=scratch).strip() == incremental
    published = every_blob(scratch)
    assert b"INTERNAL" not in published and b"corp.example" not in published


def test_the_pre_push_hook_blocks_a_hand_push_of_a_key(tmp_path: Path, public: PublicRepos) -> None:
    src = tmp_path / "internal"
    build(src, [C("a", (), {"README.md": "r\n"})])
    remote = public.bare()
    git("remote", "add", "public", str(remote), cwd=src)
    (src / "pubgate.yaml").write_text(json.dumps({"target_repo": str(remote)}))
    (src / ".git" / "info" / "exclude").write_text("pubgate.yaml\n")
    assert pubgate("hook", "install", cwd=src).code == 0
    head = git("rev-parse", "main", cwd=src).strip()
    ids = build(src, [C("b", ["main"], {"conf/deploy.txt": "a\n" + RSA_KEY})], known={"main": head})
    ids = build(src, [C("c", ["b"], {"id_ed25519": "key\n"})], known=ids)
    pushed = subprocess.run(
        ["git", "push", "public", "main"],
        cwd=src,
        capture_output=True,
        text=True,
        env=dict(os.environ),
        check=False,
    )
    assert pushed.returncode != 0
    assert (
        f"refusing to push {ids['b'][:12]}: conf/deploy.txt:2 holds a private key (fingerprint "
    ) in pushed.stderr
    assert f"refusing to push {ids['c'][:12]}: excluded path id_ed25519" in pushed.stderr
    assert "MIIE" not in pushed.stderr
    assert git("for-each-ref", cwd=remote) == ""


def test_audit_finds_sections_and_secrets_pushed_by_hand(
    tmp_path: Path, public: PublicRepos
) -> None:
    src = tmp_path / "src"
    target = public.bare()
    build(src, [C("a", (), {"app.py": APP})])
    config = tmp_path / "pubgate.yaml"
    config.write_text(json.dumps({"target_repo": str(target)}))
    assert pubgate("--config", str(config), "sync", "--no-pr", cwd=src).code == 0
    git("update-ref", "refs/heads/main", "refs/heads/pubgate/sync", cwd=target)
    assert pubgate("--config", str(config), "audit", cwd=src).code == 0
    work = tmp_path / "public-clone"
    git("clone", "-q", str(target), str(work))
    tip = git("rev-parse", "HEAD", cwd=work).strip()
    ids = build(
        work,
        [C("x", [tip], {"app.py": APP, "notes.txt": f"token {FAKE_TOKEN}\n"})],
        known={tip: tip},
    )
    git("push", "-q", "origin", "main", cwd=work)
    result = pubgate("--config", str(config), "--json", "audit", cwd=src)
    assert result.code == 1
    found = json.loads(result.out)["findings"]
    whats = {f["what"] if "what" in f else f["finding"] for f in found if f["commit"] == ids["x"]}
    assert "'app.py' holds an internal section" in whats
    assert any(w.startswith("notes.txt:1 holds a GitHub token (fingerprint ") for w in whats)
    assert PASSWORD not in result.err and FAKE_TOKEN not in result.out + result.err


def test_an_incremental_sync_scans_only_new_blobs(
    tmp_path: Path, public: PublicRepos, scanned_blobs: list[bytes]
) -> None:
    src = tmp_path / "src"
    target = public.bare()
    files = {f"pkg/m{i}.py": f"x = {i}\n" for i in range(30)}
    ids = build(src, [C("a", (), files), C("b", ["a"], {"pkg/m0.py": "x = 100\n"})])
    config = tmp_path / "pubgate.yaml"
    config.write_text(json.dumps({"target_repo": str(target)}))
    scanned = scanned_blobs
    assert pubgate("--config", str(config), "sync", "--no-pr", cwd=src).code == 0
    assert len(scanned) == 31  # every distinct blob once: 30 files and one new version
    git("update-ref", "refs/heads/main", "refs/heads/pubgate/sync", cwd=target)
    scanned.clear()
    build(src, [C("c", ["b"], {"pkg/m1.py": "x = 101\n", "new.txt": "n\n"})], known=ids)
    assert pubgate("--config", str(config), "sync", "--no-pr", cwd=src).code == 0
    assert sorted(scanned) == [b"n\n", b"x = 101\n"]


def test_the_pull_request_counts_sectioned_files_never_their_content() -> None:
    report = SyncReport("main", "0" * 40, "url", "main", "pubgate/sync")
    report.sections_changed = 2
    _, body = pull_request_text(report)
    assert "Internal sections removed from 2 changed files." in body


def test_a_monorepo_folders_config_is_held_back_at_its_public_path(
    tmp_path: Path, public: PublicRepos
) -> None:
    src = tmp_path / "src"
    target = public.bare()
    config = yaml.safe_dump({"target_repo": str(target), "root": "libs/tracing/"})
    build(
        src,
        [C("a", (), {"libs/tracing/pubgate.yaml": config, "libs/tracing/x.py": "x\n"})],
    )
    result = pubgate("sync", "--no-pr", cwd=src / "libs" / "tracing")
    assert result.code == 0, result.err
    assert sorted(files_of(target, "pubgate/sync")) == ["x.py"]
