from __future__ import annotations

import json
from pathlib import Path

from .conftest import pubgate
from .factory import git


def test_demo_publishes_and_holds_back(tmp_path: Path) -> None:
    result = pubgate("demo", "--keep", "demo", cwd=tmp_path)
    assert result.code == 0, result.err
    assert "held back (3 excluded paths touched):" in result.err
    public = tmp_path / "demo" / "public.git"
    branch = "pubgate/release-v0.1.0"  # "feat: add demo.add" makes 0.0.0 a 0.1.0
    files = git("ls-tree", "-r", "-z", "--name-only", branch, cwd=public).split("\0")
    assert [f for f in files if f] == [
        "CHANGELOG.md",
        "README.md",
        "docs/référence.md",
        "pyproject.toml",
        "src/demo/__init__.py",
    ]
    log = git("log", "--format=%an", branch, cwd=public).split("\n")
    assert {"Alice Martin", "Bob Okafor", "Chloé Dubois", "git-pubgate"} <= set(log)
    assert git("rev-list", "--count", "--merges", branch, cwd=public).strip() == "1"
    assert "  ### Features\n  \n  - add demo.add (" in result.err
    assert "Merge the API docs (" not in result.err  # merges stay out of the changelog
    git("fsck", "--strict", "--no-progress", cwd=public)


def test_demo_is_deterministic_and_refuses_a_used_directory(tmp_path: Path) -> None:
    first = json.loads(pubgate("--json", "demo", cwd=tmp_path).out)
    second = json.loads(pubgate("--json", "demo", cwd=tmp_path).out)
    assert first["head"] == second["head"]
    assert first["excluded_paths"] == [
        ".github/workflows/internal_ci.yml",
        "deploy/staging.pem",
        "internal/",
    ]
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "file").write_text("x")
    result = pubgate("demo", "--keep", "used", cwd=tmp_path)
    assert result.code == 1 and "not empty" in result.err
