"""Pushing over https-style transport with a token, and what must never leak."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from git_pubgate import gitio

from .conftest import SECRETS, PublicRepos, pubgate
from .factory import C, build, git
from .gitserver import GitHttpServer

TOKEN = "ghs_T0kenThatMustNeverLeak_5f8a1c"
SECRETS.add(TOKEN)


def setup(tmp_path: Path, public: PublicRepos, url: str) -> Path:
    src = tmp_path / "src"
    build(
        src,
        [
            C("a", (), {"README.md": "hello\n", "internal/plan.md": "secret\n"}),
            C("b", ["a"], {"src/x.py": "x\n"}),
        ],
    )
    (tmp_path / "pubgate.yaml").write_text(
        f'target_repo: "{url}"\nexclude: ["internal/"]\ngithub_token_env: "GH_TOKEN"\n'
    )
    return src


def run(tmp_path: Path, src: Path, *args: str) -> tuple[int, str, str]:
    result = pubgate("--config", str(tmp_path / "pubgate.yaml"), *args, cwd=src)
    return result.code, result.out, result.err


def files_containing(root: Path, needle: bytes) -> list[Path]:
    hits = []
    for dirpath, _, names in os.walk(root):
        for name in names:
            path = Path(dirpath) / name
            if path.is_file() and not path.is_symlink() and needle in path.read_bytes():
                hits.append(path)
    return hits


def test_token_authenticated_push(
    tmp_path: Path, public: PublicRepos, monkeypatch: pytest.MonkeyPatch
) -> None:
    bare = public.bare()
    with GitHttpServer(public.root, TOKEN) as server:
        src = setup(tmp_path, public, server.url("public.git"))
        monkeypatch.setenv("GH_TOKEN", TOKEN)
        code, out, err = run(tmp_path, src, "--json", "sync", "--no-pr")
        assert code == 0, err
        assert server.rejected >= 1 and set(server.seen_auth) == {"x-access-token"}
        assert git("ls-tree", "-r", "--name-only", "pubgate/sync", cwd=bare).split() == [
            "README.md",
            "src/x.py",
        ]
        code, out2, err2 = run(tmp_path, src, "sync", "--no-pr")
        assert code == 0 and "already points at" in err2
    for text in (out, err, out2, err2):
        assert TOKEN not in text
    assert files_containing(tmp_path, TOKEN.encode()) == []
    staging_config = (src / ".git" / "pubgate" / "public.git" / "config").read_text()
    assert "127.0.0.1" not in staging_config and "credential" not in staging_config


def test_wrong_or_missing_token_is_a_clean_error(
    tmp_path: Path, public: PublicRepos, monkeypatch: pytest.MonkeyPatch
) -> None:
    public.bare()
    with GitHttpServer(public.root, TOKEN) as server:
        src = setup(tmp_path, public, server.url("public.git"))
        wrong = "ghp_wrong_token_value_0000"
        monkeypatch.setenv("GH_TOKEN", wrong)
        code, out, err = run(tmp_path, src, "sync", "--no-pr")
        assert code == 1
        lines = err.splitlines()
        assert lines[0].startswith(f"error: reading {server.url('public.git')} failed")
        assert lines[1].startswith("hint: ") and len(lines) == 2
        assert wrong not in out + err
        monkeypatch.delenv("GH_TOKEN")
        code, _, err = run(tmp_path, src, "sync", "--no-pr")
        assert code == 1 and err.startswith("error: reading") and "Traceback" not in err
    assert files_containing(tmp_path, wrong.encode()) == []


def test_credentials_in_the_url_are_refused_not_echoed(tmp_path: Path, public: PublicRepos) -> None:
    """A token inside target_repo would reach every git argv (and the public tree, with the
    config committed): a configuration error, which never repeats it."""
    public.bare()
    with GitHttpServer(public.root, TOKEN) as server:
        url = server.url("public.git").replace("http://", f"http://x-access-token:{TOKEN}@")
        src = setup(tmp_path, public, url)
        code, _, err = run(tmp_path, src, "plan")
        assert code == 2 and "github_token_env" in err, err
        assert TOKEN not in err and "http://***@127.0.0.1" in err
        assert server.seen_auth == [] and server.rejected == 0  # refused before any request
    # The user put it in the config file; nothing of ours may copy it anywhere else.
    assert files_containing(src, TOKEN.encode()) == []
    (tmp_path / "pubgate.yaml").unlink()  # the test's own copy, for the suite-wide check


def test_file_url_and_ssh_targets(
    tmp_path: Path, public: PublicRepos, monkeypatch: pytest.MonkeyPatch
) -> None:
    bare = public.bare()
    src = setup(tmp_path, public, f"file://{bare}")
    code, _, err = run(tmp_path, src, "sync", "--no-pr")
    assert code == 0, err
    first = git("rev-parse", "pubgate/sync", cwd=bare).strip()

    # A stand-in for ssh that runs the remote command here: git's real ssh transport,
    # upload-pack and receive-pack included, without an ssh server.
    shim = tmp_path / "fake-ssh"
    shim.write_text('#!/bin/sh\nwhile [ "$1" = "-o" ]; do shift 2; done\nshift\nexec sh -c "$1"\n')
    shim.chmod(0o755)
    monkeypatch.setenv("GIT_SSH_COMMAND", str(shim))
    other = public.bare("over-ssh.git")
    (tmp_path / "pubgate.yaml").write_text(
        f'target_repo: "ssh://git@forge.example{other}"\nexclude: ["internal/"]\n'
    )
    code, _, err = run(tmp_path, src, "sync", "--no-pr")
    assert code == 0, err
    assert git("rev-parse", "pubgate/sync", cwd=other).strip() == first


def test_source_repo_url_names_a_remote_of_the_checkout(
    tmp_path: Path, public: PublicRepos
) -> None:
    bare = public.bare()
    src = setup(tmp_path, public, str(bare))
    git("remote", "add", "upstream", "git@github.com:Org/Internal.git", cwd=src)
    git("branch", "-m", "main", "work", cwd=src)
    git("update-ref", "refs/remotes/upstream/main", "work", cwd=src)
    (tmp_path / "pubgate.yaml").write_text(
        f'source_repo: "https://github.com/org/internal"\ntarget_repo: "{bare}"\n'
        'source_branch: "main"\nexclude: ["internal/"]\n'
    )
    code, _, err = run(tmp_path, src, "sync", "--no-pr")
    assert code == 0, err
    (tmp_path / "pubgate.yaml").write_text(
        f'source_repo: "git@github.com:org/other.git"\ntarget_repo: "{bare}"\n'
    )
    code, _, err = run(tmp_path, src, "sync")
    assert code == 2 and "is not a remote of the repository" in err


def test_token_never_appears_in_any_git_argv(
    tmp_path: Path, public: PublicRepos, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A git in front of the real one that logs every command line it is given.
    real_git = shutil.which("git")
    assert real_git
    wrapper_dir = tmp_path / "bin"
    wrapper_dir.mkdir()
    log = tmp_path / "argv.log"
    (wrapper_dir / "git").write_text(
        f'#!/bin/sh\nprintf "%s\\n" "$*" >> "{log}"\nexec "{real_git}" "$@"\n'
    )
    (wrapper_dir / "git").chmod(0o755)
    monkeypatch.setenv("PATH", f"{wrapper_dir}{os.pathsep}{os.environ['PATH']}")
    bare = public.bare()
    with GitHttpServer(public.root, TOKEN) as server:
        src = setup(tmp_path, public, server.url("public.git"))
        monkeypatch.setenv("GH_TOKEN", TOKEN)
        code, _, err = run(tmp_path, src, "sync", "--no-pr")
        assert code == 0, err
    commands = log.read_text().splitlines()
    assert any(c.startswith("--git-dir") and " push " in c for c in commands)
    assert not [c for c in commands if TOKEN in c]
    assert git("rev-parse", "--verify", "pubgate/sync", cwd=bare)


@pytest.mark.parametrize(
    ("url", "ssh_says", "telling"),
    [
        # Real ssh, a host that cannot resolve (.invalid never does): retried, then quoted.
        ("git@nonexistent.invalid:o/r.git", None, "Could not resolve hostname nonexistent"),
        # ssh stand-ins saying what ssh and GitHub's ssh side say.
        (
            "git@github.com:o/r.git",
            "git@github.com: Permission denied (publickey).",
            "git@github.com: Permission denied (publickey).",
        ),
        ("git@github.com:o/gone.git", "ERROR: Repository not found.", "Repository not found."),
        ("file:///nonexistent/r.git", None, "does not appear to be a git repository"),
    ],
)
def test_remote_errors_quote_the_line_that_names_the_cause(  # noqa: PLR0917 (parametrized)
    tmp_path: Path,
    public: PublicRepos,
    monkeypatch: pytest.MonkeyPatch,
    url: str,
    ssh_says: str | None,
    telling: str,
) -> None:
    monkeypatch.setattr(gitio, "BACKOFF", (0.0, 0.0))  # the retries, without their waits
    if ssh_says is not None:
        shim = tmp_path / "fake-ssh"
        shim.write_text(f"#!/bin/sh\necho '{ssh_says}' >&2\nexit 255\n")
        shim.chmod(0o755)
        monkeypatch.setenv("GIT_SSH_COMMAND", str(shim))
    src = setup(tmp_path, public, url)
    code, _, err = run(tmp_path, src, "sync", "--no-pr")
    assert code == 1
    error, hint = err.splitlines()[-2:]
    assert error.startswith("error: reading ") and telling in error, err
    assert "and the repository exists." not in error
    assert hint.startswith("hint: ")
