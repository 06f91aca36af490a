"""``git pubgate audit --lfs``: every public pointer's object is on the target's LFS store.

The store is asked, not downloaded from: an LFS batch "download" request answers per object
with a download action, or with an error when the store lacks it (the same request ``git lfs
pull`` starts with). The endpoint is the one git-lfs derives from ``target_repo``
(``<url>.git/info/lfs``, over https for an ssh URL too); a path or ``file://`` target keeps its
objects in its own ``lfs/objects``, which is looked at directly.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pygit2
from pygit2.enums import SortMode

from .audit import AuditReport
from .config import is_local
from .errors import PubgateError
from .forge.http import Api
from .gitio import Remote, split_credential
from .lfs import LfsFile, has_object, pointers_between
from .lfs_pointer import Pointer

BATCH_SIZE = 100  # objects per batch request, as git-lfs sends them
_MEDIA_TYPE = "application/vnd.git-lfs+json"
_SCP = re.compile(r"^(?:[^@/]+@)?([^:/]+):(.+)$")


@dataclass
class LfsAudit:
    """What ``audit --lfs`` found (the ``lfs`` key of audit's ``--json``)."""

    pointers: int = 0  # distinct pointer blobs in the public history
    objects: int = 0  # distinct objects they name
    missing: list[dict[str, str]] = field(default_factory=list)  # commit, path, oid

    def to_json(self) -> dict[str, Any]:
        return {"pointers": self.pointers, "objects": self.objects, "missing": self.missing}


def endpoint(url: str) -> str:
    """The LFS endpoint git-lfs derives from a repository URL (``<repo>.git/info/lfs``)."""
    if url.startswith(("https://", "http://")):
        base = url
    elif url.startswith("ssh://"):
        rest = url[len("ssh://") :]
        host, _, path = rest.partition("/")
        base = f"https://{host.rsplit('@', 1)[-1].split(':', 1)[0]}/{path}"
    elif (found := _SCP.match(url)) is not None:
        base = f"https://{found.group(1)}/{found.group(2).lstrip('/')}"
    else:
        raise PubgateError(f"cannot tell the LFS endpoint of {url}", "use an https target_repo")
    base = base.rstrip("/")
    return (base if base.endswith(".git") else base + ".git") + "/info/lfs"


def check_report(
    staging: pygit2.Repository, remote: Remote, client: httpx.Client, report: AuditReport
) -> None:
    """Add ``--lfs``'s findings to ``report``, for the history of the refs audit fetched."""
    found, findings = check(staging, remote, sorted(set(report.tips.values())), client)
    report.lfs = found.to_json()
    report.findings.extend(findings)


def check(
    staging: pygit2.Repository,
    remote: Remote,
    tips: Sequence[str],
    client: httpx.Client,
) -> tuple[LfsAudit, list[tuple[str, str]]]:
    """The pointers of the history ``tips`` reach, and a finding per object the store lacks."""
    files = pointers_between(staging, tips, [])
    audit = LfsAudit(len(files), len({f.pointer.oid for f in files}))
    if not files:
        return audit, []
    distinct: dict[str, LfsFile] = {}
    for file in files:
        distinct.setdefault(file.pointer.oid, file)
    if is_local(remote.url):
        absent = _absent_locally(Path(remote.url.removeprefix("file://")), distinct)
    else:
        absent = _absent_on_server(remote, client, [f.pointer for f in distinct.values()])
    findings = []
    for oid in sorted(absent):
        file = distinct[oid]
        commit = _first_holding(staging, tips, file) or "-" * 40
        audit.missing.append({"commit": commit, "path": file.shown_path, "oid": oid})
        findings.append(
            (
                commit,
                f"{file.shown_path} points at Git LFS object {oid}, which the target's LFS "
                "store does not have",
            )
        )
    return audit, findings


def _absent_locally(repository: Path, files: dict[str, LfsFile]) -> set[str]:
    git_dir = repository / ".git" if (repository / ".git").is_dir() else repository
    return {oid for oid, f in files.items() if not has_object(git_dir / "lfs", f.pointer)}


def _absent_on_server(remote: Remote, client: httpx.Client, pointers: list[Pointer]) -> set[str]:
    headers = {"Accept": _MEDIA_TYPE, "Content-Type": _MEDIA_TYPE}
    if remote.token:
        user, secret = split_credential(remote.token)
        pair = f"{user}:{secret}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
    api = Api(client, endpoint(remote.url), headers, forge="the LFS server", repo=remote.display)
    absent = set()
    for start in range(0, len(pointers), BATCH_SIZE):
        chunk = pointers[start : start + BATCH_SIZE]
        answer = api.request(
            "POST",
            "/objects/batch",
            json={
                "operation": "download",
                "transfers": ["basic"],
                "objects": [{"oid": p.oid, "size": p.size} for p in chunk],
            },
        ).json()
        found = {
            o.get("oid")
            for o in answer.get("objects", [])
            if isinstance(o, dict) and "download" in (o.get("actions") or {})
        }
        absent |= {p.oid for p in chunk if p.oid not in found}
    return absent


def _first_holding(staging: pygit2.Repository, tips: Sequence[str], file: LfsFile) -> str | None:
    """The oldest public commit that holds ``file`` at its path."""
    path = file.path.decode("utf-8", "surrogateescape")
    walker = staging.walk(None, SortMode.TOPOLOGICAL | SortMode.REVERSE)
    for tip in tips:
        if isinstance(staging[tip], pygit2.Commit):
            walker.push(staging[tip].id)
    for commit in walker:
        try:
            if str(commit.tree[path].id) == file.blob:
                return str(commit.id)
        except KeyError:
            continue
    return None
