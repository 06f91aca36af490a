"""What the report (and so the pull request) says about each commit is what went public."""

from __future__ import annotations

import json
from pathlib import Path

from .conftest import PublicRepos, pubgate
from .factory import C, build


def test_report_shows_the_public_subject_and_author(tmp_path: Path, public: PublicRepos) -> None:
    build(
        tmp_path / "src",
        [C("a", (), {"app.py": "1\n"}, message="fix: crash (CORP-4411)\n", author="Ada Author")],
    )
    config = {
        "target_repo": str(public.bare()),
        "message": {"scrub": [r" \(CORP-\d+\)"]},
        "authors": {"map": {"@corp.example": "Ada <ada@users.noreply.example.org>"}},
    }
    (tmp_path / "pubgate.yaml").write_text(json.dumps(config))
    result = pubgate(
        "--config",
        str(tmp_path / "pubgate.yaml"),
        "--json",
        "sync",
        "--no-pr",
        cwd=tmp_path / "src",
    )
    assert result.code == 0, result.err
    (commit,) = json.loads(result.out)["commits"]
    assert commit["subject"] == "fix: crash" and commit["author"] == "Ada"
