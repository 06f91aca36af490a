"""Trim Azure DevOps' and Bitbucket's API descriptions to the calls git-pubgate makes.

    python tests/contracts/trim_forges.py azure git.json > tests/contracts/azure-devops.json
    python tests/contracts/trim_forges.py bitbucket swagger.v3.json \\
        > tests/contracts/bitbucket-cloud.json
    python tests/contracts/trim_forges.py bitbucket-server 9.4.swagger.v3.json \\
        > tests/contracts/bitbucket-data-center.json

As ``trim.py`` does for GitHub: keeps the operations in ``OPERATIONS`` with every definition,
parameter and schema they reference (transitively) and the security schemes they name; drops the
prose (descriptions, summaries, titles, examples, tags, ``x-`` extensions), which validation
never reads. What validation reads is kept as the vendor wrote it, in the vendor's own format
(Azure DevOps' is Swagger 2.0; the tests convert it when they load it). Running it on its own
output changes nothing.
"""

from __future__ import annotations

import json
import sys
from typing import Any

try:
    from .trim import _clean
except ImportError:  # run as a script
    from trim import _clean  # type: ignore[no-redef]

_AZURE_PULLS = "/{organization}/{project}/_apis/git/repositories/{repositoryId}/pullrequests"
_CLOUD_PULLS = "/repositories/{workspace}/{repo_slug}/pullrequests"
_SERVER_PULLS = "/api/latest/projects/{projectKey}/repos/{repositorySlug}/pull-requests"
# (method, path) of every call git_pubgate/forge/{azure,bitbucket,bitbucket_server}.py makes.
OPERATIONS: dict[str, tuple[tuple[str, str], ...]] = {
    "azure": (
        ("get", _AZURE_PULLS),
        ("post", _AZURE_PULLS),
        ("patch", _AZURE_PULLS + "/{pullRequestId}"),
    ),
    "bitbucket": (
        ("get", _CLOUD_PULLS),
        ("post", _CLOUD_PULLS),
        ("put", _CLOUD_PULLS + "/{pull_request_id}"),
        ("post", _CLOUD_PULLS + "/{pull_request_id}/decline"),
    ),
    "bitbucket-server": (
        ("get", _SERVER_PULLS),
        ("post", _SERVER_PULLS),
        ("put", _SERVER_PULLS + "/{pullRequestId}"),
        ("post", _SERVER_PULLS + "/{pullRequestId}/decline"),
    ),
}


def _refs(node: Any) -> set[str]:
    if isinstance(node, list):
        return set().union(*map(_refs, node)) if node else set()
    if not isinstance(node, dict):
        return set()
    found = {node["$ref"]} if isinstance(node.get("$ref"), str) else set()
    return found.union(*map(_refs, node.values())) if node else found


def _schemes(paths: dict[str, Any], spec: dict[str, Any]) -> set[str]:
    """Names of the security schemes the kept operations (or the whole API) require."""
    requirements = list(spec.get("security", []))
    for item in paths.values():
        for operation in item.values():
            if isinstance(operation, dict):
                requirements += operation.get("security", [])
    return {name for requirement in requirements for name in requirement}


def trim(spec: dict[str, Any], kind: str) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for method, path in OPERATIONS[kind]:
        item = spec["paths"][path]
        paths.setdefault(path, {})[method] = _clean(item[method])
        if "parameters" in item:
            paths[path]["parameters"] = _clean(item["parameters"])
    swagger2 = "swagger" in spec
    kept: dict[str, dict[str, Any]] = {}
    pending = sorted(_refs(paths))
    while pending:
        ref = pending.pop()
        parts = ref.split("/")  # #/definitions/X (Swagger 2.0), #/components/schemas/X
        section, name = "/".join(parts[1:-1]), parts[-1]
        if name in kept.get(section, {}):
            continue
        source: Any = spec
        for part in parts[1:]:
            source = source[part]
        cleaned = _clean(source, "response" if section.endswith("responses") else "")
        kept.setdefault(section, {})[name] = cleaned
        pending += sorted(_refs(cleaned))
    schemes = _schemes(paths, spec)
    security_home = "securityDefinitions" if swagger2 else "components/securitySchemes"
    all_schemes = spec.get("securityDefinitions") or spec.get("components", {}).get(
        "securitySchemes", {}
    )
    kept[security_home] = {n: _clean(all_schemes[n]) for n in sorted(schemes)}
    info = spec["info"]
    out: dict[str, Any] = {
        "swagger" if swagger2 else "openapi": spec.get("swagger") or spec["openapi"],
        "info": {"title": info["title"], "version": info["version"]},
    }
    for key in ("host", "basePath", "schemes", "consumes", "produces", "servers", "security"):
        if key in spec:
            out[key] = _clean(spec[key])
    out["paths"] = paths
    for section, items in sorted(kept.items()):
        target = out
        *parents, leaf = section.split("/")
        for parent in parents:
            target = target.setdefault(parent, {})
        target[leaf] = dict(sorted(items.items()))
    return out


def main() -> None:
    with open(sys.argv[2], encoding="utf-8-sig") as source:  # Azure's files start with a BOM
        spec = json.load(source)
    json.dump(trim(spec, sys.argv[1]), sys.stdout, indent=1, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
