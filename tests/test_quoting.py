"""Paths in human-readable output are quoted exactly as git quotes them (core.quotePath)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from git_pubgate.quoting import printable, quote_path
from git_pubgate.report import SyncReport, pull_request_text

from .conftest import PublicRepos, pubgate
from .factory import C, build, git

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


FORGED = "ok\nsource: forged\n  fake.pem"


def test_odd_names_cannot_forge_lines_in_plan_sync_or_the_pr_body(
    tmp_path: Path, public: PublicRepos
) -> None:
    src, target = tmp_path / "src", public.bare()
    build(target, [C("init", (), {"README.md": "public\n"})], bare=True)
    build(src, [C("a", (), {"README.md": "public\n", FORGED: "k\n", "src/x\ty.py": "x\n"})])
    config = tmp_path / "pubgate.yaml"
    config.write_text(f"target_repo: {target}\nexclude: ['*.pem']\n")
    plan = pubgate("--config", str(config), "plan", cwd=src)
    assert plan.code == 0, plan.err
    lines = plan.err.splitlines()
    assert '  "ok\\nsource: forged\\n  fake.pem"' in lines
    assert not any(line.startswith("source: forged") for line in lines)
    shutil.rmtree(src / ".git" / "pubgate")  # held back is listed by a run that rewrites
    as_json = pubgate("--config", str(config), "--json", "plan", cwd=src)
    assert json.loads(as_json.out)["excluded_paths"] == [FORGED]  # the real name
    # A public edit under an odd name is divergence, quoted in sync's refusal.
    report = pubgate("--config", str(config), "sync", "--no-pr", cwd=src)
    assert report.code == 0, report.err
    git("update-ref", "refs/heads/main", "refs/heads/pubgate/sync", cwd=target)
    tip = git("rev-parse", "main", cwd=target).strip()
    build(
        target, [C("edit", ["main"], {"src/x\ty.py": "edited\n"})], bare=True, known={"main": tip}
    )
    build(
        src,
        [C("b", ["main"], {"docs.md": "d\n"})],
        known={"main": git("rev-parse", "main", cwd=src).strip()},
    )
    refused = pubgate("--config", str(config), "sync", "--no-pr", cwd=src)
    assert refused.code == 1
    assert 'changes that did not come from the source: "src/x\\ty.py"' in refused.err
    body = pull_request_text(
        SyncReport("main", "0" * 40, str(target), "main", "pubgate/sync", excluded_paths=[FORGED])
    )[1]
    assert '- `"ok\\nsource: forged\\n  fake.pem"`' in body


def test_backticks_in_names_cannot_end_a_code_span_in_the_pr_body() -> None:
    report = SyncReport(
        "main",
        "0" * 40,
        "url",
        "main",
        "pubgate/sync",
        excluded_paths=["a`b.pem", "`edge.pem"],
        symlinks_leaving=[("l`ink", "x``y\nz")],
        new_identities=["Eve `@org/team` <eve@example.org>"],
    )
    body = pull_request_text(report)[1]
    assert "- ``a`b.pem``\n" in body
    assert "- `` `edge.pem ``\n" in body
    assert '- ``l`ink`` -> ```"x``y\\nz"```\n' in body
    assert "- ``Eve `@org/team` <eve@example.org>``\n" in body


def test_core_quote_path_false_prints_utf8_as_git_does(tmp_path: Path) -> None:
    repo = tmp_path / "r"
    names = [*ODD_NAMES, "na\u00efve/\u6771\u4eac.txt", "mix\tcaf\u00e9"]
    build(repo, [C("a", (), {name: "x\n" for name in names})])
    subprocess.run(["git", "read-tree", "HEAD"], cwd=repo, check=True)
    listed_z = subprocess.run(
        ["git", "ls-files", "-z"], cwd=repo, capture_output=True, check=True
    ).stdout
    shown = subprocess.run(
        ["git", "-c", "core.quotePath=false", "ls-files"], cwd=repo, capture_output=True, check=True
    ).stdout.decode("utf-8")
    raw = [p for p in listed_z.split(b"\x00") if p]
    assert [quote_path(p, quote_non_ascii=False) for p in raw] == shown.splitlines()
    assert quote_path("caf\u00e9", quote_non_ascii=False) == "caf\u00e9"
    # Where git would print bytes that are no text, or a C1 control (CSI), they stay escaped.
    assert quote_path(b"bad\xffname", quote_non_ascii=False) == '"bad\\377name"'
    assert quote_path("csi\u009b31m", quote_non_ascii=False) == '"csi\\302\\23331m"'


def test_control_characters_never_reach_the_terminal() -> None:
    assert printable("fix \x1b[2J\x1b[31mred\x1b[0m") == "fix \\x1b[2J\\x1b[31mred\\x1b[0m"
    assert printable("a\tb\nc") == "a\tb\nc"  # they cannot forge anything: kept
    assert printable("cr\rbell\x07del\x7fcsi\u009b") == "cr\\x0dbell\\x07del\\x7fcsi\\x9b"
    assert printable(b"bad\xff".decode("utf-8", "surrogateescape")) == "bad\\xff"
    assert printable("caf\u00e9 \u6771\u4eac") == "caf\u00e9 \u6771\u4eac"


def test_plan_honours_core_quote_path_and_escapes_subjects_and_names(
    tmp_path: Path, public: PublicRepos
) -> None:
    src, target = tmp_path / "src", public.bare()
    build(
        src,
        [
            C(
                "a",
                (),
                {"README.md": "r\n", "cl\u00e9.pem": "k\n"},
                message="fix \x1b[2J\x1b[31mred\n",
                author="Eve\x1b[5mBlink",
            )
        ],
    )
    config = tmp_path / "pubgate.yaml"
    config.write_text(f"target_repo: {target}\nexclude: ['*.pem']\n")
    plan = pubgate("--config", str(config), "plan", cwd=src)
    assert plan.code == 0, plan.err
    assert "\x1b" not in plan.err
    assert "fix \\x1b[2J\\x1b[31mred" in plan.err and "Eve\\x1b[5mBlink" in plan.err
    assert '  "cl\\303\\251.pem"' in plan.err.splitlines()
    git("config", "core.quotePath", "false", cwd=src)
    shutil.rmtree(src / ".git" / "pubgate")  # held back is listed by a run that rewrites
    plan = pubgate("--config", str(config), "plan", cwd=src)
    assert plan.code == 0, plan.err
    assert "  cl\u00e9.pem" in plan.err.splitlines()
    as_json = pubgate("--config", str(config), "--json", "plan", cwd=src)
    assert json.loads(as_json.out)["commits"][0]["subject"] == "fix \x1b[2J\x1b[31mred"
