"""Read a Swagger 2.0 description as OpenAPI 3.0, so openapi-core can validate against it.

Only what the trimmed Azure DevOps description uses: path and query parameters, a JSON body
parameter, JSON responses, definitions, top-level parameters and Basic auth. Nothing is
loosened: every schema moves over as it is (``#/definitions/`` references become
``#/components/schemas/``), and Swagger's string ``discriminator`` (a hint for code generators,
which OpenAPI 3 spells as an object) is the one keyword left out.
"""

from __future__ import annotations

import copy
from typing import Any

_SCHEMA_KEYS = ("type", "format", "enum", "items", "default", "minimum", "maximum", "pattern")


def _schemas(node: Any) -> Any:
    if isinstance(node, list):
        return [_schemas(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key == "$ref" and isinstance(value, str):
            out[key] = value.replace("#/definitions/", "#/components/schemas/")
        elif key == "discriminator" and isinstance(value, str):
            continue
        elif key == "properties" and isinstance(value, dict):
            out[key] = {name: _schemas(item) for name, item in value.items()}
        else:
            out[key] = _schemas(value)
    return out


def _parameter(parameter: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in parameter:
        parameter = spec["parameters"][parameter["$ref"].rsplit("/", 1)[1]]
    schema = {k: parameter[k] for k in _SCHEMA_KEYS if k in parameter}
    out = {k: parameter[k] for k in ("name", "in", "required") if k in parameter}
    out["schema"] = _schemas(schema)
    return out


def _operation(operation: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"parameters": [], "responses": {}}
    for parameter in operation.get("parameters", []):
        if parameter.get("in") == "body":
            out["requestBody"] = {
                "required": parameter.get("required", False),
                "content": {"application/json": {"schema": _schemas(parameter["schema"])}},
            }
        else:
            out["parameters"].append(_parameter(parameter, spec))
    for status, response in operation["responses"].items():
        converted: dict[str, Any] = {"description": response.get("description", "")}
        if "schema" in response:
            schema = _schemas(response["schema"])
            converted["content"] = {"application/json": {"schema": schema}}
        out["responses"][status] = converted
    if "security" in operation:
        out["security"] = operation["security"]
    return out


def to_openapi3(spec: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI 3.0 reading of a Swagger 2.0 ``spec``; served from any host, over http too."""
    spec = copy.deepcopy(spec)
    base = spec.get("basePath", "/").rstrip("/")
    schemes = {
        name: {"type": "http", "scheme": "basic"}
        for name, scheme in spec.get("securityDefinitions", {}).items()
        if scheme.get("type") == "basic"
    }
    return {
        "openapi": "3.0.3",
        "info": spec["info"],
        "servers": [
            {
                "url": "{scheme}://{host}" + base,
                "variables": {
                    "scheme": {"default": "https", "enum": ["https", "http"]},
                    "host": {"default": spec["host"]},
                },
            }
        ],
        "security": [r for r in spec.get("security", []) if set(r) <= set(schemes)],
        "paths": {
            path: {
                method: _operation(operation, spec)
                for method, operation in item.items()
                if method != "parameters"
            }
            for path, item in spec["paths"].items()
        },
        "components": {
            "schemas": {n: _schemas(s) for n, s in spec.get("definitions", {}).items()},
            "securitySchemes": schemes,
        },
    }
