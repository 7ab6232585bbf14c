"""The GitHub REST contract the fake GitHub enforces on every request it answers.

Owns: reading ``../shared/contracts/github/github_actions_subset.json`` (OpenAPI 3.0.3, 20 operations
cut from github/rest-api-description) and judging, for one exchange, whether the *request* Switchman
sent (method, templated path, declared query parameters, JSON body, headers) and the *response* the
fake is about to send (body against the operation's schema for that status) match it. OpenAPI 3.0's
``nullable`` is translated to JSON Schema; nothing else is relaxed except the documented allowances
below.
"""

from __future__ import annotations

import copy
import json
import pathlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import jsonschema

from tests.contracts.schema_check import BodyValidators, read_contract, response_problems

SUBSET_FILE = "github_actions_subset.json"
# Headers every request must carry. GitHub rejects requests without a User-Agent (403), and its
# REST docs ask clients to send the media type and pin the API version
# (docs.github.com/rest/about-the-rest-api/api-versions); the version we pin is the default one.
REQUIRED_HEADERS: dict[str, re.Pattern[str]] = {
    "authorization": re.compile(r"^Bearer \S+$"),
    "accept": re.compile(r"^application/vnd\.github\+json$"),
    "x-github-api-version": re.compile(r"^2022-11-28$"),
    "user-agent": re.compile(r"^\S+"),
}
# Answers GitHub may give on any operation although the subset does not list them per operation:
# bad credentials, forbidden/secondary rate limit, missing repository, validation, rate limit,
# and server trouble (docs.github.com/rest/using-the-rest-api/troubleshooting-the-rest-api).
GENERIC_ERROR_STATUSES = frozenset({401, 403, 404, 422, 429, 500, 502, 503, 504})
GENERIC_ERROR_SCHEMA: dict[str, Any] = {"type": "object", "properties": {
    "message": {"type": "string"}, "documentation_url": {"type": "string"}, "status": {"type": "string"},
    "errors": {"type": "array"}}}


@dataclass(frozen=True)
class Operation:
    operation_id: str
    method: str
    template: str
    pattern: re.Pattern[str]
    path_params: dict[str, dict[str, Any]]
    query_params: dict[str, dict[str, Any]]
    required_query: frozenset[str]
    body_schema: dict[str, Any] | None
    body_required: bool
    responses: dict[str, Any] = field(repr=False)


@dataclass(frozen=True)
class Match:
    operation: Operation
    path_values: dict[str, str]


def openapi_to_jsonschema(node: Any) -> Any:
    """OpenAPI 3.0 schema → JSON Schema: `nullable: true` becomes an explicit null alternative."""
    if isinstance(node, list):
        return [openapi_to_jsonschema(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: openapi_to_jsonschema(v) for k, v in node.items()
           if k not in ("nullable", "example", "examples", "x-github-breaking-changes")}
    if node.get("nullable"):
        if "type" in out:
            out["type"] = [out["type"], "null"]
            if "enum" in out:
                out["enum"] = [*out["enum"], None]
        else:
            out = {"anyOf": [out, {"type": "null"}]}
    return out


def _template_regex(template: str, multi_segment: set[str]) -> re.Pattern[str]:
    out = ""
    for part in re.split(r"(\{[^}]+\})", template):
        if part.startswith("{"):
            name = part[1:-1]
            out += f"(?P<{name}>.+?)" if name in multi_segment else f"(?P<{name}>[^/]+)"
        else:
            out += re.escape(part)
    return re.compile(f"^{out}$")


def _value_ok(raw: str, schema: Mapping[str, Any]) -> bool:
    """Whether a path or query string value can be the schema's type (strings are all we get)."""
    alternatives = schema.get("oneOf") or [schema]
    for alt in alternatives:
        kind = alt.get("type", "string")
        if kind == "integer" and not re.fullmatch(r"-?\d+", raw):
            continue
        if kind == "boolean" and raw not in ("true", "false"):
            continue
        if "enum" in alt and raw not in alt["enum"]:
            continue
        return True
    return False


class GitHubContract:
    """Checks requests to, and responses from, a fake GitHub against the published subset."""

    def __init__(self, spec: Mapping[str, Any]) -> None:
        self.spec = spec
        components = spec["components"]
        self._root = {"components": {"schemas": openapi_to_jsonschema(components["schemas"])}}
        self.operations: list[Operation] = []
        for template, ops in spec["paths"].items():
            for method, op in ops.items():
                self.operations.append(self._operation(template, method, op))
        # Most literal characters first, so a fixed segment wins over a placeholder.
        self.operations.sort(key=lambda o: -len(re.sub(r"\{[^}]+\}", "", o.template)))
        self._validators = BodyValidators(self._root, jsonschema.Draft7Validator)

    @classmethod
    def load(cls, contracts_dir: pathlib.Path | None = None) -> GitHubContract:
        """Read the contract; default directory is <project root>/../shared/contracts/github."""
        if contracts_dir is None:
            contracts_dir = pathlib.Path(__file__).resolve().parents[2].parent / "shared" / "contracts" / "github"
        return cls(read_contract(contracts_dir.resolve() / SUBSET_FILE))

    def _resolve(self, node: Mapping[str, Any]) -> dict[str, Any]:
        while "$ref" in node:
            target: Any = self.spec
            for part in node["$ref"].removeprefix("#/").split("/"):
                target = target[part]
            node = target
        return dict(node)

    def _operation(self, template: str, method: str, op: Mapping[str, Any]) -> Operation:
        path_params: dict[str, dict[str, Any]] = {}
        query_params: dict[str, dict[str, Any]] = {}
        required: set[str] = set()
        multi: set[str] = set()
        for ref in op.get("parameters", []):
            param = self._resolve(ref)
            schema = self._resolve(param.get("schema", {}))
            if param["in"] == "path":
                path_params[param["name"]] = schema
                if param.get("x-multi-segment"):
                    multi.add(param["name"])
            elif param["in"] == "query":
                query_params[param["name"]] = schema
                if param.get("required"):
                    required.add(param["name"])
        body = op.get("requestBody")
        body_schema = None
        if body is not None:
            body_schema = openapi_to_jsonschema(body["content"]["application/json"]["schema"])
        return Operation(op["operationId"], method.upper(), template, _template_regex(template, multi),
                         path_params, query_params, frozenset(required), body_schema,
                         bool(body and body.get("required")), dict(op.get("responses", {})))

    # --- lookup -----------------------------------------------------------------------------------
    def match(self, method: str, path: str) -> Match | None:
        for op in self.operations:
            if op.method != method.upper():
                continue
            m = op.pattern.match(path)
            if m:
                return Match(op, m.groupdict())
        return None

    def operation(self, operation_id: str) -> Operation:
        return next(op for op in self.operations if op.operation_id == operation_id)

    # --- requests ---------------------------------------------------------------------------------
    def check_request(self, method: str, path: str, query: Iterable[tuple[str, str]],
                      headers: Mapping[str, str], body: bytes) -> list[str]:
        """Problems with one request; `path` is decoded, `headers` case-insensitive or lower-cased."""
        found = self.match(method, path)
        if found is None:
            return [f"{method} {path}: no operation in the contract matches"]
        op, where = found.operation, f"{method} {path} ({found.operation.operation_id})"
        problems: list[str] = []
        for name, value in found.path_values.items():
            if not _value_ok(value, op.path_params.get(name, {})):
                problems.append(f"{where}: path parameter {name}={value!r} does not fit {op.path_params[name]}")
        problems += self._check_query(op, where, list(query))
        problems += self._check_headers(where, headers, has_body=bool(body))
        problems += self._check_body(op, where, body)
        return problems

    def _check_query(self, op: Operation, where: str, query: list[tuple[str, str]]) -> list[str]:
        problems: list[str] = []
        names = [name for name, _ in query]
        for name, value in query:
            schema = op.query_params.get(name)
            if schema is None:
                problems.append(f"{where}: query parameter {name!r} is not declared for {op.operation_id}")
            elif not _value_ok(value, schema):
                problems.append(f"{where}: query parameter {name}={value!r} does not fit {schema}")
            elif names.count(name) > 1:
                problems.append(f"{where}: query parameter {name!r} repeated")
        problems += [f"{where}: required query parameter {n!r} missing" for n in op.required_query - set(names)]
        if "per_page" in names and int(dict(query)["per_page"]) > 100:
            problems.append(f"{where}: per_page is at most 100")
        return problems

    def _check_headers(self, where: str, headers: Mapping[str, str], *, has_body: bool) -> list[str]:
        lowered = {k.lower(): v for k, v in headers.items()}
        problems = [f"{where}: header {name} missing or malformed ({lowered.get(name)!r:.40})"
                    for name, pattern in REQUIRED_HEADERS.items() if not pattern.match(lowered.get(name, ""))]
        if has_body and not lowered.get("content-type", "").startswith("application/json"):
            problems.append(f"{where}: a body must be sent as application/json")
        return problems

    def _check_body(self, op: Operation, where: str, body: bytes) -> list[str]:
        if op.body_schema is None:
            return [f"{where}: {op.operation_id} takes no request body"] if body else []
        if not body:
            return [f"{where}: request body required"] if op.body_required else []
        try:
            decoded = json.loads(body)
        except ValueError:
            return [f"{where}: request body is not JSON"]
        return self._validators.errors((op.operation_id, "request"), f"{where} request body", op.body_schema, decoded)

    # --- responses --------------------------------------------------------------------------------
    def response_schema(self, op: Operation, status: int) -> dict[str, Any] | None:
        """The JSON schema for `status`, {} for a declared answer without a body, None if undeclared."""
        declared = op.responses.get(str(status))
        if declared is None:
            return GENERIC_ERROR_SCHEMA if status in GENERIC_ERROR_STATUSES else None
        content = self._resolve(declared).get("content")
        if not content:
            return {}
        schema: dict[str, Any] = openapi_to_jsonschema(content["application/json"]["schema"])
        return schema

    def check_response(self, method: str, path: str, status: int, body: Any) -> list[str]:
        """Problems with a response the fake is about to send; `body` None means an empty body."""
        found = self.match(method, path)
        if found is None:
            return [f"{method} {path}: no operation in the contract matches"]
        op = found.operation
        return response_problems(self._validators, op.operation_id, status, self.response_schema(op, status), body)

    # --- examples ---------------------------------------------------------------------------------
    def example(self, name: str) -> Any:
        """A deep copy of components/examples/<name>'s value."""
        return copy.deepcopy(self.spec["components"]["examples"][name]["value"])
