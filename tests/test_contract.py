"""The GitHub contract in the repository: what trim.py makes of it, covering every call we make."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tarfile
from pathlib import Path

from openapi_core import OpenAPI

from .contracts.trim import OPERATIONS, trim
from .githubserver import CONTRACT

FORGE = Path(__file__).resolve().parents[1] / "git_pubgate" / "forge"
# api.request("METHOD", f"/path/{...}") as the GitHub client and the App sign-in write them.
CALL = re.compile(r'request\(\s*"([A-Z]+)",\s*f?"(/[^"]*)"')


def _calls() -> set[tuple[str, str]]:
    """(method, concrete path) of each call, ``owner/repo`` slugs and numbers filled in."""
    calls = set()
    for source in (FORGE / "github.py", FORGE / "github_app.py"):
        for method, path in CALL.findall(source.read_text()):
            concrete = re.sub(r"\{[^}]*\}", "x", re.sub(r"\{[^}]*slug\}", "x/x", path))
            calls.add((method.lower(), concrete))
    return calls


def _template(path: str) -> re.Pattern[str]:
    return re.compile(re.sub(r"\\\{[^/]*?\\\}", "[^/]+", re.escape(path)) + "$")


def test_contract_is_exactly_what_trim_makes_of_it() -> None:
    """Regenerating is honest only if the committed file is the script's own output."""
    spec = json.loads(CONTRACT.read_text())
    assert trim(spec) == spec
    OpenAPI.from_dict(spec)  # a valid OpenAPI description (validated on load)


def test_contract_describes_every_github_call_and_nothing_else() -> None:
    calls = _calls()
    assert len(calls) >= 7, f"the call pattern no longer finds the client's calls: {calls}"
    spec = json.loads(CONTRACT.read_text())
    described = {(m, p) for p, item in spec["paths"].items() for m in item if m != "parameters"}
    assert described == set(OPERATIONS)
    for method, path in calls:
        assert any(m == method and _template(p).match(path) for m, p in OPERATIONS), (
            f"{method.upper()} {path} is not in the contract"
        )
    for m, p in OPERATIONS:
        assert any(method == m and _template(p).match(path) for method, path in calls), (
            f"{m.upper()} {p} is described but never called: trim it"
        )


def test_the_sdist_carries_everything_its_tests_read(tmp_path: Path) -> None:
    """A packager runs the tests from the sdist: every file of tests/ must be in it."""
    root = FORGE.parents[1]
    scratch = tmp_path / "home"  # the build tools cache under HOME
    env = {**os.environ, "HOME": str(scratch), "XDG_CACHE_HOME": str(scratch / "cache")}
    subprocess.run(
        [
            sys.executable,
            "-m",
            "build",
            "--sdist",
            "--no-isolation",
            "-o",
            str(tmp_path),
            str(root),
        ],
        check=True,
        capture_output=True,
        env=env,
    )
    (sdist,) = tmp_path.glob("git_pubgate-*.tar.gz")
    with tarfile.open(sdist) as archive:
        packed = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    needed = {
        str(path.relative_to(root))
        for path in (root / "tests").rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }
    assert "tests/contracts/github.json" in needed
    assert needed - packed == set()
