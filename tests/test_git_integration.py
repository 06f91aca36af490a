"""git pubgate as a git subcommand: man page, completion, git config settings, the Action."""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

from git_pubgate.absorb import AbsorbReport
from git_pubgate.audit import AuditReport
from git_pubgate.cli import build_parser
from git_pubgate.config import DESCRIPTIONS, known_keys
from git_pubgate.manpage import render
from git_pubgate.publish import PublishReport
from git_pubgate.report import SyncReport

from .conftest import pubgate
from .factory import C, build

ROOT = Path(__file__).resolve().parents[1]


def test_man_page_is_generated_and_covers_every_command_and_key() -> None:
    page = (ROOT / "man" / "git-pubgate.1").read_text()
    assert page == render(), "run: python -m git_pubgate.manpage > man/git-pubgate.1"
    assert set(known_keys()) == set(DESCRIPTIONS)
    plain = page.replace("\\-", "-")
    for key in known_keys():
        assert f"\\fB{key}\\fR" in plain
    for command in ("init", "plan", "sync", "publish", "audit", "hook", "demo"):
        assert f".SS {command}\n" in plain


def test_man_renders_the_page_without_warnings(tmp_path: Path) -> None:
    """man itself (man-db, groff) reads the committed page: no roff warning, and every FILES
    entry survives (a line starting with '.' is a roff request and vanished)."""
    man = shutil.which("man")
    if man is None:
        pytest.fail("this test needs man (Debian: apt-get install man-db); it is not skipped")
    page = tmp_path / "git-pubgate.1"
    page.write_text(render())
    env = {**os.environ, "MANWIDTH": "100", "LC_ALL": "C.UTF-8", "MANPAGER": "cat", "PAGER": "cat"}
    done = subprocess.run(
        [man, "--warnings", "-l", str(page)], capture_output=True, text=True, env=env, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == "", done.stderr
    text = re.sub(r".\x08", "", done.stdout)  # no overstrike bold, should man add it
    files = text[text.index("FILES") : text.index("EXAMPLES")]
    names = [".git/pubgate/public.git", ".git/pubgate/cache/", ".git/pubgate/targets/NAME/"]
    for name in [*names, ".git/pubgate/hook-rules.json"]:
        assert name in files, files


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The built wheel, installed into a fresh venv (without dependencies: only its files
    matter here)."""
    out = tmp_path_factory.mktemp("wheel")
    # pip and the build backend it starts write caches (and toolchain probes) under HOME.
    scratch = tmp_path_factory.mktemp("pip-home")
    pip_env = {**os.environ, "HOME": str(scratch), "XDG_CACHE_HOME": str(scratch / "cache")}
    pip = [sys.executable, "-m", "pip"]
    wheel_cmd = [*pip, "wheel", "-q", "--no-deps", "-w", str(out), str(ROOT)]
    subprocess.run(wheel_cmd, check=True, capture_output=True, env=pip_env)
    (wheel,) = out.glob("git_pubgate-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert any(n.endswith("data/data/share/man/man1/git-pubgate.1") for n in names)
    venv = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    install = [*pip, "--python", python, "install", "-q", "--no-deps", str(wheel)]
    subprocess.run(install, check=True, capture_output=True, env=pip_env)
    return venv


def test_git_help_finds_the_installed_man_page(installed: Path) -> None:
    env = {**os.environ, "PATH": f"{installed / 'bin'}{os.pathsep}{os.environ['PATH']}"}
    env.pop("MANPATH", None)
    found = subprocess.run(
        ["man", "-w", "git-pubgate"], env=env, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert found == str(installed / "share" / "man" / "man1" / "git-pubgate.1")
    # git help pubgate is what both "git help pubgate" and "git pubgate --help" run.
    shown = subprocess.run(
        ["git", "help", "-m", "pubgate"],
        env={**env, "MANPAGER": "cat", "PAGER": "cat"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "publish an internal git repository" in shown.replace("\u2010", "-")


def test_completion_completes_subcommands_and_options(installed: Path) -> None:
    script = installed / "share" / "bash-completion" / "completions" / "git-pubgate"
    git_completion = Path("/usr/share/bash-completion/completions/git")
    if not git_completion.exists():  # git ships it beside its own contrib/ otherwise
        git_completion = Path("/usr/share/doc/git/contrib/completion/git-completion.bash")
    assert git_completion.exists(), "git's bash completion is part of the git package"

    def complete(line: str) -> list[str]:
        words = line.split(" ")
        program = (
            f"source {git_completion}; source {script}; "
            f"COMP_WORDS=({' '.join(repr(w) for w in words)}); COMP_CWORD={len(words) - 1}; "
            f"COMP_LINE={line!r}; COMP_POINT={len(line)}; __git_wrap__git_main; "
            'printf "%s\\n" "${COMPREPLY[@]}"'
        )
        out = subprocess.run(["bash", "-c", program], capture_output=True, text=True, check=True)
        return sorted(w.strip() for w in out.stdout.splitlines() if w.strip())

    assert complete("git pubgate sy") == ["sync"]
    assert complete("git pubgate pu") == ["publish"]
    assert complete("git pubgate publish --no-") == ["--no-isolation"]
    assert complete("git pubgate sync --no") == ["--no-pr"]
    assert "--keep" in complete("git pubgate demo --")
    assert complete("git pubgate sync --bump m") == ["major", "minor"]
    # Every long option of every command is offered.
    parser = build_parser("git pubgate")
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, sub in commands.choices.items():
        options = {o for a in sub._actions for o in a.option_strings if o.startswith("--")}
        offered = set(complete(f"git pubgate {name} --"))
        assert options - {"--help"} <= offered, (name, options - offered)


def test_config_path_from_git_config(tmp_path: Path) -> None:
    build(tmp_path / "src", [C("a", (), {"x": "x\n"})])
    (tmp_path / "elsewhere.yaml").write_text("exlude: []\n")
    env_before = os.environ.get("GIT_CONFIG_PARAMETERS")
    os.environ["GIT_CONFIG_PARAMETERS"] = f"'pubgate.config={tmp_path / 'elsewhere.yaml'}'"
    try:
        result = pubgate("plan", cwd=tmp_path / "src")  # as "git -c pubgate.config=... pubgate"
    finally:
        if env_before is None:
            del os.environ["GIT_CONFIG_PARAMETERS"]
        else:
            os.environ["GIT_CONFIG_PARAMETERS"] = env_before
    assert result.code == 2 and "elsewhere.yaml:1: exlude: unknown key" in result.err


def test_action_names_only_what_the_cli_understands() -> None:
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    assert action["runs"]["using"] == "composite"
    inputs = action["inputs"]
    commands = set(re.findall(r"[a-z]+", inputs["command"]["description"].split(":")[-1]))
    subcommands = set(
        next(
            a for a in build_parser()._actions if a.__class__.__name__ == "_SubParsersAction"
        ).choices
    )
    assert commands and commands <= subcommands
    script = "\n".join(step.get("run", "") for step in action["runs"]["steps"])
    for flag in re.findall(r"(--[a-z-]+)", script):
        assert flag in build_parser().format_help() or flag in ("--upgrade", "--quiet")


def test_json_keys_are_the_documented_ones() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### JSON output", 1)[1].split('"Held back"', 1)[0]
    documented: dict[str, set[str]] = {}
    for item in section.replace("\n  ", " ").split("\n- ")[1:]:
        label, _, keys = item.partition(": ")
        documented[label.strip()] = set(re.findall(r"`([a-z_]+)`", keys))
    sync = SyncReport("main", "0" * 40, "url", "main", "pubgate/sync").to_json()
    assert set(sync) <= documented["`plan` and `sync`"]
    assert set(PublishReport().to_json()) == documented["`publish`"]
    assert set(AuditReport().to_json()) <= documented["`audit`"]
    absorb = AbsorbReport("main", "0" * 40, "url", "main", "pubgate/absorb").to_json()
    assert set(absorb) <= documented["`absorb`"]
