"""What scanning every distinct blob of a history costs: our scanner against detect-secrets.

    pip install detect-secrets          # only for this comparison; not a dependency
    python bench/detect_secrets_cost.py /tmp/pubgate-bench/history-50000-10000.git

Reads every blob once (git cat-file --batch-all-objects), then times, side by side in one run,
``git_pubgate.secrets.SecretScanner.scan`` over each blob and detect-secrets' plugins for the same
kinds (private keys, AWS, GitHub, GitLab, PyPI, Slack, npm) over each line of each blob, which
is how detect-secrets scans (``analyze_line``, without its filters, so its cheapest form).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from git_pubgate.secrets import SecretScanner  # noqa: E402


def blobs(repo: Path) -> list[bytes]:
    listing = subprocess.run(
        ["git", "cat-file", "--batch-all-objects", "--batch-check=%(objectname) %(objecttype)"],
        cwd=repo, capture_output=True, text=True, check=True,
    ).stdout.split("\n")
    ids = [line.split()[0] for line in listing if line.endswith(" blob")]
    out = subprocess.run(["git", "cat-file", "--batch"], cwd=repo, capture_output=True,
                         input="\n".join(ids).encode() + b"\n", check=True).stdout
    found, pos = [], 0
    while pos < len(out):
        header_end = out.index(b"\n", pos)
        size = int(out[pos:header_end].split()[2])
        found.append(out[header_end + 1 : header_end + 1 + size])
        pos = header_end + 1 + size + 1
    return found


def ours(data: list[bytes]) -> tuple[float, int]:
    scanner = SecretScanner()
    start = time.perf_counter()
    hits = sum(len(scanner.scan(blob)) for blob in data)
    return time.perf_counter() - start, hits


def detect_secrets(data: list[bytes]) -> tuple[float, int]:
    from detect_secrets.plugins.aws import AWSKeyDetector
    from detect_secrets.plugins.github_token import GitHubTokenDetector
    from detect_secrets.plugins.gitlab_token import GitLabTokenDetector
    from detect_secrets.plugins.npm import NpmDetector
    from detect_secrets.plugins.private_key import PrivateKeyDetector
    from detect_secrets.plugins.pypi_token import PypiTokenDetector
    from detect_secrets.plugins.slack import SlackDetector

    plugins = [AWSKeyDetector(), GitHubTokenDetector(), GitLabTokenDetector(), NpmDetector(),
               PrivateKeyDetector(), PypiTokenDetector(), SlackDetector()]
    start = time.perf_counter()
    hits = 0
    for blob in data:
        for number, line in enumerate(blob.decode("utf-8", "replace").splitlines(), 1):
            for plugin in plugins:
                hits += len(plugin.analyze_line(filename="f", line=line, line_number=number))
    return time.perf_counter() - start, hits


def main() -> None:
    data = blobs(Path(sys.argv[1]))
    size = sum(map(len, data))
    mine, theirs = ours(data), detect_secrets(data)
    print(json.dumps({
        "blobs": len(data), "bytes": size,
        "ours_s": round(mine[0], 3), "ours_findings": mine[1],
        "detect_secrets_s": round(theirs[0], 3), "detect_secrets_findings": theirs[1],
        "ratio": round(theirs[0] / mine[0], 1),
    }, indent=2))


if __name__ == "__main__":
    main()
