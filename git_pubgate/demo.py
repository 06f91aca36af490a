"""``git pubgate demo``: a whole sync on throwaway repositories, with no network and no accounts.

The internal history is written with ``git fast-import`` from a fixed stream, so every run
publishes the same commit ids.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path
from typing import TextIO

import pygit2

from .config import load
from .errors import PubgateError
from .quoting import quote_path
from .report import describe
from .sync import SyncOptions, run

_PEOPLE = {
    "alice": b"Alice Martin <alice@corp.example>",
    "bob": b"Bob Okafor <bob@corp.example>",
    "chloe": "Chloé Dubois <chloe@corp.example>".encode(),
}

_CONFIG = """\
target_repo: "{target}"
review_branch: "main"
exclude:
  - "internal/"
  - "*.pem"
  - ".github/workflows/internal_ci.yml"
version:
  bump: auto
"""


def _blob(path: str, text: str) -> bytes:
    data = text.encode()
    return b"M 100644 inline " + path.encode() + b"\ndata %d\n" % len(data) + data + b"\n"


def _commit(mark: int, who: str, message: str, parents: list[int], body: list[bytes]) -> bytes:
    # Half an hour apart, from a fixed start: the demo publishes the same ids every time.
    sig = _PEOPLE[who] + b" %d +0100\n" % (1_700_000_000 + 1800 * mark)
    msg = message.encode()
    lines = [
        b"commit refs/heads/main\n",
        b"mark :%d\n" % mark,
        b"author " + sig,
        b"committer " + sig,
        b"data %d\n" % len(msg),
        msg + b"\n",
    ]
    if parents:
        lines.append(b"from :%d\n" % parents[0])
    lines += [b"merge :%d\n" % p for p in parents[1:]]
    return b"".join(lines + body) + b"\n"


_HISTORY = [
    (1, "alice", "Start the project", [], [
        ("README.md", "# demo\n\nA library, incubated internally.\n"),
        ("pyproject.toml", '[project]\nname = "demo"\nversion = "0.0.0"  # set by releases\n'),
        ("src/demo/__init__.py", "VERSION = '0.1.0'\n"),
        ("internal/roadmap.md", "Codename BLUEBIRD ships in Q3.\n"),
        (".github/workflows/internal_ci.yml", "runs-on: corp-runner-7\n"),
    ]),
    (2, "bob", "Add the deploy key for staging", [1], [
        ("deploy/staging.pem", "-----BEGIN PRIVATE KEY-----\nnot-a-real-key\n"),
    ]),
    (3, "chloe", "docs: document the API in French", [2], [
        ("docs/référence.md", "# Référence\n\n`demo.add(a, b)`\n"),
    ]),
    (4, "alice", "feat: add demo.add", [2], [
        ("src/demo/__init__.py", "VERSION = '0.1.0'\n\n\ndef add(a, b):\n    return a + b\n"),
        ("internal/roadmap.md", "Codename BLUEBIRD ships in Q3.\nadd() is done.\n"),
    ]),
    (5, "bob", "Merge the API docs", [4, 3], [
        ("docs/référence.md", "# Référence\n\n`demo.add(a, b)`\n"),
    ]),
]  # fmt: skip


def _stream() -> bytes:
    return b"".join(
        _commit(mark, who, message, parents, [_blob(path, text) for path, text in files])
        for mark, who, message, parents, files in _HISTORY
    )


def _git(*args: str, cwd: Path, data: bytes | None = None) -> None:
    env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1"}
    subprocess.run(["git", *args], cwd=cwd, input=data, env=env, check=True, capture_output=True)


def run_demo(out: TextIO, err: TextIO, *, as_json: bool = False, keep: Path | None = None) -> int:
    """Build the demo repositories (in ``keep``, or a temporary folder) and sync them."""
    if keep is not None:
        if keep.exists() and any(keep.iterdir()):
            raise PubgateError(
                f"refusing to write the demo into {keep}, since it is not empty",
                "name a new or empty directory",
            )
        keep.mkdir(parents=True, exist_ok=True)
        return _demo(keep, out, err, as_json=as_json, kept=True)
    with tempfile.TemporaryDirectory(prefix="pubgate-demo-") as tmp:
        return _demo(Path(tmp), out, err, as_json=as_json, kept=False)


def _demo(root: Path, out: TextIO, err: TextIO, *, as_json: bool, kept: bool) -> int:
    internal, public = root / "internal", root / "public.git"
    _git("init", "-q", "-b", "main", str(internal), cwd=root)
    _git("fast-import", "--quiet", cwd=internal, data=_stream())
    _git("reset", "-q", "--hard", "main", cwd=internal)
    _git("init", "-q", "--bare", "-b", "main", str(public), cwd=root)
    (internal / ".git" / "info" / "exclude").write_text("pubgate.yaml\n")
    (internal / "pubgate.yaml").write_text(_CONFIG.format(target=public))

    report = run(load(internal / "pubgate.yaml"), internal, SyncOptions(no_pr=True))
    pushed = pygit2.Repository(str(public))
    head = pushed.references[f"refs/heads/{report.head_branch}"].peel(pygit2.Commit)
    files = sorted(_walk(head.tree))
    if as_json:
        out.write(json.dumps({**report.to_json(), "published_files": files}, indent=2) + "\n")
        return 0
    err.write("git pubgate demo: an internal repository synced into a local public one\n")
    err.write(f"  internal: {internal}\n  public:   {public}\n  config:\n")
    err.writelines(f"    {line}\n" for line in _CONFIG.format(target=public).splitlines())
    err.write("\n")
    err.writelines(line + "\n" for line in describe(report, plan=False))
    err.write(f"\npublished files on {report.head_branch}:\n")
    err.writelines(f"  {quote_path(f)}\n" for f in files)
    if report.release is not None and report.release.changelog:
        log = pushed.revparse_single(f"{report.head}:{report.release.changelog}").peel(pygit2.Blob)
        err.write(f"\n{report.release.changelog} as the release commit wrote it:\n")
        err.writelines(f"  {line}\n" for line in log.data.decode().splitlines())
    err.write(
        "\nIn real use, a pull request into main is the review gate: see 'git pubgate init'.\n"
    )
    if not kept:
        err.write("These repositories are removed now; 'git pubgate demo --keep DIR' keeps them.\n")
    return 0


def _walk(tree: pygit2.Tree, prefix: str = "") -> list[str]:
    paths: list[str] = []
    stack = [(tree, prefix)]
    while stack:
        current, base = stack.pop()
        for entry in current:
            if isinstance(entry, pygit2.Tree):
                stack.append((entry, f"{base}{entry.name}/"))
            else:
                paths.append(f"{base}{entry.name}")
    return paths
