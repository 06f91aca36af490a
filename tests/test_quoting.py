"""Paths in human-readable output are quoted exactly as git quotes them (core.quotePath)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from git_pubgate.quoting import quote_path

from .factory import C, build

ODD_NAMES = [
    "plain/a b.txt",
    "new\nline",
    "tab\there",
    'quote"d',
    "back\\slash",
    "caf\u00e9",
    "esc\x1b[31mred",
    "bell\x07\x7f",
    "cr\rlf",
]


def test_quoting_matches_git_ls_files(tmp_path: Path) -> None:
    repo = tmp_path / "r"
    files: dict[str, str | None] = {name: "x\n" for name in ODD_NAMES}
    build(repo, [C("a", (), files)])
    subprocess.run(["git", "read-tree", "HEAD"], cwd=repo, check=True)  # the index lists them
    # An invalid UTF-8 name too, which only bytes can spell.
    raw_name = b"bad\xff\xfename"
    blob = subprocess.run(
        ["git", "hash-object", "-w", "--stdin"],
        cwd=repo,
        input=b"x\n",
        capture_output=True,
        check=True,
    ).stdout.strip()
    subprocess.run(
        ["git", "update-index", "--add", "--cacheinfo", b"100644," + blob + b"," + raw_name],
        cwd=repo,
        check=True,
    )
    listed_z = subprocess.run(
        ["git", "ls-files", "-z"], cwd=repo, capture_output=True, check=True
    ).stdout
    quoted = subprocess.run(
        ["git", "-c", "core.quotePath=true", "ls-files"],
        cwd=repo,
        capture_output=True,
        check=True,
    ).stdout.decode("ascii")
    raw = [p for p in listed_z.split(b"\x00") if p]
    assert len(raw) == len(ODD_NAMES) + 1 and raw_name in raw
    assert [quote_path(p) for p in raw] == quoted.splitlines()
    # A str decoded with surrogateescape gives the same as its bytes.
    assert quote_path(raw_name.decode("utf-8", "surrogateescape")) == quote_path(raw_name)
    assert quote_path("new\nline") == '"new\\nline"'
    assert quote_path("plain/a b.txt") == "plain/a b.txt"
