"""Turn the OpenAPI document into what the reference page shows: no script, no CDN."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Operation:
    """One method on one path."""

    method: str
    path: str
    anchor: str
    summary: str
    description: str
    parameters: list[tuple[str, str, bool, str]]  # name, where, required, description
    body: str  # the request body's schema name, or ""
    responses: list[tuple[str, str, str]]  # status, description, schema name or ""


@dataclass(frozen=True)
class Schema:
    """One named schema and its fields."""

    name: str
    description: str
    fields: list[tuple[str, str, bool, str]]  # name, type, required, description


def _name(schema: Any) -> str:
    ref = schema.get("$ref", "") if isinstance(schema, dict) else ""
    return str(ref).rsplit("/", 1)[-1]


def _content_schema(content: Any) -> str:
    if not isinstance(content, dict) or not content:
        return ""
    first = next(iter(content.values()))
    return _name(first.get("schema", {})) if isinstance(first, dict) else ""


def type_of(prop: dict[str, Any]) -> str:
    """Say a field's type in a few words (nullable, lists, enums, references)."""
    if "$ref" in prop:
        return _name(prop)
    if "enum" in prop:
        return " | ".join(str(v) for v in prop["enum"])
    if "anyOf" in prop:
        return " or ".join(type_of(p) for p in prop["anyOf"])
    kind = str(prop.get("type", "any"))
    if kind == "array":
        return f"list of {type_of(prop.get('items', {}))}"
    return kind + (f" ({prop['format']})" if "format" in prop else "")


def operations(spec: dict[str, Any]) -> list[Operation]:
    """List the document's operations in its own order."""
    found = []
    for path, methods in spec.get("paths", {}).items():
        for method, op in methods.items():
            found.append(
                Operation(
                    method=method.upper(),
                    path=path,
                    anchor=str(op.get("operationId", f"{method}{path}")),
                    summary=str(op.get("summary", "")),
                    description=str(op.get("description", "")),
                    parameters=[
                        (
                            str(p.get("name")),
                            str(p.get("in")),
                            bool(p.get("required")),
                            str(p.get("description") or p.get("schema", {}).get("description", "")),
                        )
                        for p in op.get("parameters", [])
                    ],
                    body=_content_schema(op.get("requestBody", {}).get("content")),
                    responses=[
                        (
                            str(code),
                            str(r.get("description", "")),
                            _content_schema(r.get("content")),
                        )
                        for code, r in op.get("responses", {}).items()
                    ],
                )
            )
    return found


def schemas(spec: dict[str, Any]) -> list[Schema]:
    """List the document's named schemas with their fields."""
    found = []
    for name, schema in spec.get("components", {}).get("schemas", {}).items():
        required = set(schema.get("required", []))
        found.append(
            Schema(
                name=name,
                description=str(schema.get("description", "")),
                fields=[
                    (field, type_of(prop), field in required, str(prop.get("description", "")))
                    for field, prop in schema.get("properties", {}).items()
                ],
            )
        )
    return found


IF_MATCH = {
    "name": "If-Match",
    "in": "header",
    "required": True,
    "description": "the submission's version, as its ETag gave it (412 if it changed since)",
    "schema": {"type": "string"},
}
PROBLEM_TYPE = "application/problem+json"


ETAG = {
    "ETag": {
        "description": "the submission's version: send it back in If-Match to act on it",
        "schema": {"type": "string"},
    }
}
PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}


def finished(spec: dict[str, Any]) -> dict[str, Any]:
    """Say what spectree cannot: errors are problem+json, actions need If-Match, ETags."""
    document = copy.deepcopy(spec)
    for path, methods in document.get("paths", {}).items():
        for method, op in methods.items():
            responses = op.get("responses", {})
            validates = "requestBody" in op or any(
                p.get("in") == "query" for p in op.get("parameters", [])
            )
            said = _content_schema(responses.get("400", {}).get("content"))
            if said.startswith("ValidationError"):
                # spectree's own shape for a failed validation: intake answers a Problem.
                if validates:
                    responses["400"] = {
                        "description": "Bad Request",
                        "content": {"application/json": {"schema": dict(PROBLEM_REF)}},
                    }
                else:
                    del responses["400"]
            if method == "post":
                op.setdefault("parameters", []).append(dict(IF_MATCH))
            if "200" in responses and (method == "post" or path.endswith("{reference}")):
                responses["200"]["headers"] = copy.deepcopy(ETAG)
            for response in responses.values():
                content = response.get("content", {})
                body = content.get("application/json")
                if body is not None and _name(body.get("schema", {})) == "Problem":
                    response["content"] = {PROBLEM_TYPE: content.pop("application/json")}
    schemas = document.get("components", {}).get("schemas", {})
    if "ValidationError" not in json.dumps(document.get("paths", {})):
        # spectree's own error shape: never sent (a bad request is answered as a Problem).
        for name in [n for n in schemas if n.startswith("ValidationError")]:
            del schemas[name]
    return document
