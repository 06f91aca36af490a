"""The GitHub workflows and the action we ship pass zizmor (offline, its strictest persona) and
GitHub's schemas: examples people copy must not teach a broad token, credentials left in
.git/config, or actions that a moved tag can replace."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
WORKFLOWS = sorted((ROOT / "examples" / "github").glob("*.yml"))
ACTION = ROOT / "action.yml"


def run(tool: str, *args: str | Path, home: Path) -> subprocess.CompletedProcess[str]:
    # Both tools are in the test extra; HOME is the test's so no cache lands in the real one.
    env = {**os.environ, "HOME": str(home), "XDG_CACHE_HOME": str(home / "cache")}
    return subprocess.run(
        [str(BIN / tool), *map(str, args)], capture_output=True, text=True, env=env, check=False
    )


def test_there_are_workflows_to_check() -> None:
    names = [p.name for p in WORKFLOWS]
    assert names == ["internal-sync.yml", "monorepo-sync.yml", "public-publish.yml"]


def test_zizmor_finds_nothing(tmp_path: Path) -> None:
    done = run("zizmor", "--offline", "--persona", "auditor", ACTION, *WORKFLOWS, home=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "No findings to report" in done.stdout + done.stderr


def test_zizmor_would_catch_the_old_habits(tmp_path: Path) -> None:
    """The check can fail: the unpinned, broad-token checkout the examples used to have."""
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "name: x\non: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - uses: actions/checkout@v4\n"
    )
    done = run("zizmor", "--offline", bad, home=tmp_path)
    assert done.returncode != 0
    for audit in ("unpinned-uses", "artipacked", "excessive-permissions"):
        assert audit in done.stdout


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_workflows_match_githubs_schema(tmp_path: Path, path: Path) -> None:
    done = run(
        "check-jsonschema", "--builtin-schema", "vendor.github-workflows", path, home=tmp_path
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_action_matches_githubs_schema(tmp_path: Path) -> None:
    done = run(
        "check-jsonschema", "--builtin-schema", "vendor.github-actions", ACTION, home=tmp_path
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_schema_check_can_fail(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text(WORKFLOWS[0].read_text().replace("contents: read", "contents: maybe"))
    schema = "vendor.github-workflows"
    done = run("check-jsonschema", "--builtin-schema", schema, bad, home=tmp_path)
    assert done.returncode == 1 and "bad.yml" in done.stdout
