"""Trim GitHub's REST API description to what git-pubgate calls, for the tests' GitHub stand-in.

    python tests/contracts/trim.py api.github.com.json > tests/contracts/github.json

Keeps the operations in ``OPERATIONS`` with every component they reference (transitively) and
the response examples the stand-in builds its answers from (``EXAMPLES``); drops the prose
(descriptions, summaries, titles, schema examples, docs links, tags, ``x-`` extensions), which
validation never reads. What validation reads (paths, parameters, request bodies, responses,
schemas, headers) is kept as GitHub wrote it. Running it on its own output changes nothing.
"""

from __future__ import annotations

import json
import sys
from typing import Any

# (method, path) of every GitHub REST call git_pubgate/forge makes.
OPERATIONS = (
    ("get", "/repos/{owner}/{repo}/pulls"),
    ("post", "/repos/{owner}/{repo}/pulls"),
    ("patch", "/repos/{owner}/{repo}/pulls/{pull_number}"),
    ("post", "/repos/{owner}/{repo}/issues/{issue_number}/labels"),
    ("post", "/repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers"),
    ("get", "/repos/{owner}/{repo}/installation"),
    ("post", "/app/installations/{installation_id}/access_tokens"),
)
# Examples tests/githubserver.py answers with (GitHub's own data, so its answers look real).
EXAMPLES = (
    "installation",
    "installation-token",
    "label-items",
    "pull-request",
    "pull-request-review-request",
)
# GitHub Enterprise Server serves the same API under /api/v3 (from the ghes-3.x descriptions);
# the stand-in serves there.
GHES_SERVER = {
    "url": "{protocol}://{hostname}/api/v3",
    "variables": {"hostname": {"default": "HOSTNAME"}, "protocol": {"default": "http"}},
}
PROSE = {"description", "summary", "title", "example", "externalDocs", "tags"}
# Keys whose value maps names (which may well be "title" or "description") to objects.
NAME_MAPS = {"properties", "paths", "responses", "headers", "content", "variables", "examples"}
# Keys whose value is data, copied as it is.
DATA = {"default", "enum", "value", "required"}


def _clean(node: Any, kind: str = "") -> Any:
    if isinstance(node, list):
        return [_clean(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in PROSE or key.startswith("x-"):
            continue
        if key in DATA:
            out[key] = value
        elif key in NAME_MAPS:
            child = "response" if key == "responses" else "media" if key == "content" else ""
            out[key] = {name: _clean(item, child) for name, item in value.items()}
        else:
            out[key] = _clean(value)
    if kind == "response" and "$ref" not in out:
        out["description"] = ""  # required by OpenAPI 3.0; what it said is prose
    if kind == "media" and "examples" in out:
        kept = {
            name: ref
            for name, ref in out.pop("examples").items()
            if ref.get("$ref", "").rsplit("/", 1)[-1] in EXAMPLES
        }
        if kept:
            out["examples"] = kept
    return out


def _refs(node: Any) -> set[str]:
    if isinstance(node, list):
        return set().union(*map(_refs, node)) if node else set()
    if not isinstance(node, dict):
        return set()
    found = {node["$ref"]} if isinstance(node.get("$ref"), str) else set()
    return found.union(*map(_refs, node.values())) if node else found


def trim(spec: dict[str, Any]) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for method, path in OPERATIONS:
        item = spec["paths"][path]
        paths.setdefault(path, {})[method] = _clean(item[method])
        if "parameters" in item:  # parameters shared by every method of the path
            paths[path]["parameters"] = _clean(item["parameters"])
    components: dict[str, dict[str, Any]] = {}
    pending = sorted(_refs(paths))
    while pending:
        ref = pending.pop()
        _, _, section, name = ref.split("/")
        if name in components.get(section, {}):
            continue
        source = spec["components"][section][name]
        if section == "examples":
            cleaned = {"value": source["value"]}
        else:
            cleaned = _clean(source, "response" if section == "responses" else "")
        components.setdefault(section, {})[name] = cleaned
        pending += sorted(_refs(cleaned))
    info = spec["info"]
    servers = [_clean(s) for s in spec["servers"]]
    if not any(s["url"] == GHES_SERVER["url"] for s in servers):
        servers.append(GHES_SERVER)
    return {
        "openapi": spec["openapi"],
        "info": {
            "title": info["title"],
            "version": info["version"],
            "license": info["license"],
        },
        "servers": servers,
        "paths": paths,
        "components": {
            section: dict(sorted(items.items())) for section, items in sorted(components.items())
        },
    }


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as source:
        spec = json.load(source)
    json.dump(trim(spec), sys.stdout, indent=1, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
