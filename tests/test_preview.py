"""git pubgate preview [DIR]: the public tip as files, exactly, without contacting a remote."""

from __future__ import annotations

import json
import os
import shutil
import socket
import stat
from pathlib import Path

from .conftest import PublicRepos, pubgate
from .factory import EXEC, GITLINK, LINK, C, build, git

SUBMODULE = "1" * 40


def source(tmp_path: Path, target: str, *extra: str) -> Path:
    src = tmp_path / "src"
    build(
        src,
        [
            C("a", (), {"README.md": "r\n", "internal/notes.md": "secret plan\n"}),
            C(
                "b",
                ["a"],
                {
                    "bin/run.sh": (EXEC, "#!/bin/sh\necho run\n"),
                    "docs/link": (LINK, "../README.md"),
                    "docs/deep/er/file.txt": "deep\n",
                    "vendor/lib": (GITLINK, SUBMODULE),
                    "caf\u00e9 \\ odd\tname.md": "odd\n",
                    "lf.txt": "a\nb\n",
                    ".gitattributes": "*.txt eol=crlf\n*.md export-ignore\n",
                },
            ),
        ],
    )
    lines = [f"target_repo: {json.dumps(target)}", "exclude: ['internal/']", *extra]
    (tmp_path / "pubgate.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return src


def run(tmp_path: Path, src: Path, *args: str) -> tuple[int, str, str]:
    result = pubgate("--config", str(tmp_path / "pubgate.yaml"), *args, cwd=src)
    assert "Traceback" not in result.err, result.err
    return result.code, result.out, result.err


def written(root: Path) -> dict[str, tuple[str, str]]:
    """path -> (git mode, blob id or link target) for everything under ``root``."""
    found: dict[str, tuple[str, str]] = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(folder) / name
            rel = path.relative_to(root).as_posix()
            if path.is_symlink():
                found[rel] = ("120000", os.readlink(path))
            elif path.is_dir():
                if not any(path.iterdir()):
                    found[rel] = ("160000", "")  # a submodule: an empty folder, as git leaves
            else:
                mode = "100755" if path.stat().st_mode & stat.S_IXUSR else "100644"
                found[rel] = (mode, git("hash-object", "--", str(path), cwd=root).strip())
    return found


def expected(repo: Path, rev: str) -> dict[str, tuple[str, str]]:
    """The same, from ``git ls-tree`` of the public tip."""
    out: dict[str, tuple[str, str]] = {}
    for line in filter(None, git("ls-tree", "-r", "-z", rev, cwd=repo).split("\0")):
        meta, path = line.split("\t", 1)
        mode, kind, oid = meta.split()
        if mode == "120000":
            out[path] = (mode, git("cat-file", "blob", oid, cwd=repo))
        else:
            out[path] = (mode, "" if kind == "commit" else oid)
    return out


def test_preview_writes_exactly_the_public_tip(tmp_path: Path, public: PublicRepos) -> None:
    target = public.bare()
    src = source(tmp_path, str(target))
    code, out, err = run(tmp_path, src, "--json", "sync", "--no-pr")
    assert code == 0, err
    head = json.loads(out)["head"]
    folder = tmp_path / "out" / "preview"
    code, out, err = run(tmp_path, src, "--json", "preview", str(folder))
    assert code == 0, err
    report = json.loads(out)
    assert report["head"] == head and report["directory"] == str(folder)
    assert report["target"]["branches_known"] is False  # the first sync found it empty
    assert written(folder) == expected(target, "pubgate/sync")
    assert not (folder / "internal").exists() and not (folder / ".git").exists()
    assert (folder / "lf.txt").read_bytes() == b"a\nb\n"  # the blob: no eol conversion
    assert (folder / "caf\u00e9 \\ odd\tname.md").is_file()  # export-ignore ignored too
    assert not list(tmp_path.glob("out/.*"))  # no partial folder left beside it

    # Once the review branch exists and a plan has read it, preview continues from there,
    # offline, to the very tip plan computes.
    git("update-ref", "refs/heads/main", head, cwd=target)
    tip = git("rev-parse", "main", cwd=src).strip()
    build(src, [C("c", [tip], {"new.md": "new\n"})], known={"main": tip})
    code, out, err = run(tmp_path, src, "--json", "plan")
    assert code == 0, err
    planned = json.loads(out)["head"]
    code, out, err = run(tmp_path, src, "--json", "preview", str(tmp_path / "again"))
    assert code == 0, err
    report = json.loads(out)
    assert report["head"] == planned and report["target"]["branches_known"] is True
    assert report["target"]["review_tip"] == head
    assert written(tmp_path / "again") == expected(src / ".git" / "pubgate" / "public.git", planned)


def test_preview_refuses_a_folder_that_is_not_empty(tmp_path: Path, public: PublicRepos) -> None:
    src = source(tmp_path, str(public.bare()))
    folder = tmp_path / "busy"
    folder.mkdir()
    (folder / "mine.txt").write_text("mine\n")
    code, out, err = run(tmp_path, src, "preview", str(folder))
    assert code == 2 and out == ""
    lines = err.splitlines()
    assert lines == [
        f"error: refusing to write the preview into {folder}, since it is not empty",
        "hint: name a new or empty folder, or leave DIR out for a new temporary one",
    ]
    assert [p.name for p in folder.iterdir()] == ["mine.txt"]
    (tmp_path / "file").write_text("x\n")
    code, _, err = run(tmp_path, src, "preview", str(tmp_path / "file"))
    assert code == 2 and "is not a folder" in err


def test_preview_fills_an_empty_folder_keeping_its_mode_and_clears_a_partial_one(
    tmp_path: Path, public: PublicRepos
) -> None:
    src = source(tmp_path, str(public.bare()))
    folder = tmp_path / "empty"
    folder.mkdir(mode=0o750)
    folder.chmod(0o750)
    partial = tmp_path / ".empty.pubgate-partial"  # what a run killed half-way leaves
    (partial / "docs").mkdir(parents=True)
    (partial / "docs" / "half.txt").write_text("half\n")
    code, out, err = run(tmp_path, src, "-q", "preview", "../empty")
    assert code == 0, err
    assert out == f"{folder}\n" and err == ""
    assert stat.S_IMODE(folder.stat().st_mode) == 0o750
    assert (folder / "README.md").read_text() == "r\n"
    assert not (folder / "docs" / "half.txt").exists() and not partial.exists()


def test_preview_contacts_no_remote(tmp_path: Path) -> None:
    """A target on a port that listens but is never answered: preview must not connect, and
    plan (which must) shows the port is live."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        listener.settimeout(0)
        port = listener.getsockname()[1]
        url = f"http://127.0.0.1:{port}/public.git"
        src = source(tmp_path, url, "forge: none", "github_token_env: NOT_SET_FOR_PREVIEW")
        code, out, err = run(tmp_path, src, "preview")
        assert code == 0, err
        folder = Path(out.strip())
        try:
            assert folder.name.startswith("pubgate-preview-")
            assert "no branch of the target is known here" in err
            assert (folder / "README.md").read_text() == "r\n"
            assert not (folder / "internal").exists()
        finally:
            shutil.rmtree(folder)
        try:
            connection, _ = listener.accept()
        except BlockingIOError:
            connection = None
        assert connection is None, "preview contacted the target"


def test_preview_holds_the_release_commit_sync_would_push(
    tmp_path: Path, public: PublicRepos
) -> None:
    target = public.bare()
    src = tmp_path / "src"
    ids = build(src, [C("a", (), {"pyproject.toml": '[project]\nname = "p"\nversion = "0.1.0"\n'})])
    build(src, [C("b", [ids["a"]], {"x.py": "x\n"}, message="feat: x\n")], known=ids)
    config = f"target_repo: {target}\nversion: {{}}\n"
    (tmp_path / "pubgate.yaml").write_text(config, encoding="utf-8")
    code, out, err = run(tmp_path, src, "--json", "sync", "--dry-run")
    assert code == 0, err
    dry = json.loads(out)
    code, out, err = run(tmp_path, src, "--json", "preview", str(tmp_path / "p"))
    assert code == 0, err
    report = json.loads(out)
    assert report["head"] == dry["head"] == dry["release"]["commit"]
    assert report["release"] == "0.2.0"
    assert 'version = "0.2.0"' in (tmp_path / "p" / "pyproject.toml").read_text()
    assert (tmp_path / "p" / "CHANGELOG.md").is_file()


def test_preview_of_one_monorepo_target(tmp_path: Path, public: PublicRepos) -> None:
    src = tmp_path / "src"
    build(
        src,
        [
            C(
                "a",
                (),
                {
                    "libs/a/a.py": "A\n",
                    "libs/a/internal/x": "x\n",
                    "libs/b/b.py": "B\n",
                    "LICENSE": "MIT\n",
                },
            )
        ],
    )
    config = {
        "exclude": ["/internal/"],
        "move": {"LICENSE": "LICENSE"},
        "targets": {
            "a": {"root": "libs/a/", "target_repo": str(public.bare("a.git"))},
            "b": {"root": "libs/b/", "target_repo": str(public.bare("b.git"))},
        },
    }
    (tmp_path / "pubgate.yaml").write_text(json.dumps(config), encoding="utf-8")
    code, out, err = run(tmp_path, src, "preview")
    assert code == 2 and "--target" in err and "a, b" in err and out == ""
    code, out, err = run(tmp_path, src, "preview", "--target", "a", str(tmp_path / "pa"))
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "pa").iterdir()) == ["LICENSE", "a.py"]
    code, out, err = run(tmp_path, src, "--json", "preview", "--target", "b", str(tmp_path / "pb"))
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "pb").iterdir()) == ["LICENSE", "b.py"]
