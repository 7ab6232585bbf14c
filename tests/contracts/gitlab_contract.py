"""The GitLab REST v4 contract the fake GitLab enforces on every request it answers.

Owns: reading ``../shared/contracts/gitlab/gitlab_ci_subset.json`` (Swagger 2.0 path items
transcribed from GitLab's openapi_v2.yaml, definitions reconstructed with JSON-Schema type arrays)
and judging, for one exchange, whether the *request* Switchman sent (method, templated path with
each path parameter one URL-encoded segment, declared and required query parameters, JSON body,
the PRIVATE-TOKEN header) and the *response* the fake is about to send (body against the
operation's schema for that status) match it.

Allowances, each from the contract's own notes: the trigger operation's Grape optional segment
``(ref/{ref}/)`` becomes its two real routes and is authenticated by the body's ``token`` instead of
PRIVATE-TOKEN; cancel may answer 200 as well as 201; any operation may answer GitLab's generic
errors (400, 401, 403, 404, 429, 5xx) with a ``{"message": ...}`` or ``{"error": ...}`` body.
"""

from __future__ import annotations

import json
import pathlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import jsonschema

from tests.contracts.schema_check import BodyValidators, read_contract, response_problems

SUBSET_FILE = "gitlab_ci_subset.json"
TRIGGER_OPERATION = "postApiV4ProjectsId(refRef)triggerPipeline"
TOKEN_HEADER = "private-token"
GENERIC_ERROR_STATUSES = frozenset({400, 401, 403, 404, 409, 422, 429, 500, 502, 503, 504})
GENERIC_ERROR_SCHEMA: dict[str, Any] = {"type": "object", "properties": {
    "message": {"type": ["string", "object"]}, "error": {"type": "string"}}}
EXTRA_SUCCESS = {"postApiV4ProjectsIdPipelinesPipelineIdCancel": {"200": "201"}}  # x-note: docs say 200


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
    responses: dict[str, Any] = field(repr=False)

    @property
    def needs_token_header(self) -> bool:
        return self.operation_id != TRIGGER_OPERATION


@dataclass(frozen=True)
class Match:
    operation: Operation
    path_values: dict[str, str]  # decoded


def _routes(template: str) -> list[str]:
    """Grape's optional segment `(ref/{ref}/)` stands for two routes: without it and with it."""
    optional = re.search(r"\(([^)]*)\)", template)
    if optional is None:
        return [template]
    return [template.replace(optional.group(0), ""), template.replace(optional.group(0), optional.group(1))]


def _template_regex(template: str) -> re.Pattern[str]:
    out = ""
    for part in re.split(r"(\{[^}]+\})", template):
        out += f"(?P<{part[1:-1]}>[^/]+)" if part.startswith("{") else re.escape(part)
    return re.compile(f"^{out}$")


def _value_ok(raw: str, schema: Mapping[str, Any]) -> bool:
    """Whether a path or query string value can be the parameter's type (strings are all we get)."""
    kind = schema.get("type", "string")
    if kind == "integer" and not re.fullmatch(r"-?\d+", raw):
        return False
    if kind == "boolean" and raw not in ("true", "false"):
        return False
    return "enum" not in schema or raw in schema["enum"]


class GitLabContract:
    """Checks requests to, and responses from, a fake GitLab against the published subset."""

    def __init__(self, spec: Mapping[str, Any]) -> None:
        self.spec = spec
        self._root = {"definitions": spec["definitions"]}
        self.operations: list[Operation] = []
        for template, ops in spec["paths"].items():
            for method, op in ops.items():
                for route in _routes(template):
                    self.operations.append(self._operation(route, method, op))
        # Most literal characters first, so `pipelines/latest` wins over `pipelines/{pipeline_id}`.
        self.operations.sort(key=lambda o: -len(re.sub(r"\{[^}]+\}", "", o.template)))
        self._validators = BodyValidators(self._root, jsonschema.Draft7Validator)

    @classmethod
    def load(cls, contracts_dir: pathlib.Path | None = None) -> GitLabContract:
        """Read the contract; default directory is <project root>/../shared/contracts/gitlab."""
        if contracts_dir is None:
            contracts_dir = pathlib.Path(__file__).resolve().parents[2].parent / "shared" / "contracts" / "gitlab"
        return cls(read_contract(contracts_dir.resolve() / SUBSET_FILE))

    def _operation(self, template: str, method: str, op: Mapping[str, Any]) -> Operation:
        path_params: dict[str, dict[str, Any]] = {}
        query_params: dict[str, dict[str, Any]] = {}
        required: set[str] = set()
        body_schema: dict[str, Any] | None = None
        for param in op.get("parameters", []):
            if param["in"] == "path" and "{" + param["name"] + "}" in template:
                path_params[param["name"]] = param
            elif param["in"] == "query":
                query_params[param["name"]] = param
                if param.get("required"):
                    required.add(param["name"])
            elif param["in"] == "body":
                body_schema = dict(param["schema"])
        return Operation(op["operationId"], method.upper(), template, _template_regex(template), path_params,
                         query_params, frozenset(required), body_schema, dict(op.get("responses", {})))

    # --- lookup -----------------------------------------------------------------------------------
    def match(self, method: str, raw_path: str) -> Match | None:
        """The operation for `raw_path` as sent (still URL-encoded: a `%2F` stays inside its segment)."""
        for op in self.operations:
            if op.method != method.upper():
                continue
            m = op.pattern.match(raw_path)
            if m:
                return Match(op, {k: unquote(v) for k, v in m.groupdict().items()})
        return None

    def operation(self, operation_id: str) -> Operation:
        return next(op for op in self.operations if op.operation_id == operation_id)

    # --- requests ---------------------------------------------------------------------------------
    def check_request(self, method: str, raw_path: str, query: Iterable[tuple[str, str]],
                      headers: Mapping[str, str], body: bytes) -> list[str]:
        """Problems with one request; `raw_path` as sent, `headers` case-insensitive or lower-cased."""
        found = self.match(method, raw_path)
        if found is None:
            return [f"{method} {raw_path}: no operation in the contract matches"]
        op, where = found.operation, f"{method} {raw_path} ({found.operation.operation_id})"
        problems = [f"{where}: path parameter {name}={value!r} does not fit its type"
                    for name, value in found.path_values.items() if not _value_ok(value, op.path_params[name])]
        problems += self._check_query(op, where, list(query))
        lowered = {k.lower(): v for k, v in headers.items()}
        if op.needs_token_header and not lowered.get(TOKEN_HEADER, "").strip():
            problems.append(f"{where}: header PRIVATE-TOKEN missing")
        if body and not lowered.get("content-type", "").startswith("application/json"):
            problems.append(f"{where}: a body must be sent as application/json")
        problems += self._check_body(op, where, body)
        return problems

    def _check_query(self, op: Operation, where: str, query: list[tuple[str, str]]) -> list[str]:
        problems: list[str] = []
        names = [name for name, _ in query]
        for name, value in query:
            param = op.query_params.get(name)
            if param is None:
                problems.append(f"{where}: query parameter {name!r} is not declared for {op.operation_id}")
            elif not _value_ok(value, param):
                problems.append(f"{where}: query parameter {name}={value!r} does not fit {param.get('type')}"
                                f"{' ' + str(param['enum']) if 'enum' in param else ''}")
            elif names.count(name) > 1:
                problems.append(f"{where}: query parameter {name!r} repeated")
        problems += [f"{where}: required query parameter {n!r} missing" for n in sorted(op.required_query - set(names))]
        per_page = dict(query).get("per_page")
        if per_page is not None and per_page.isdigit() and int(per_page) > 100:
            problems.append(f"{where}: per_page is at most 100")
        return problems

    def _check_body(self, op: Operation, where: str, body: bytes) -> list[str]:
        if op.body_schema is None:
            return [f"{where}: {op.operation_id} takes no request body"] if body else []
        if not body:
            return [f"{where}: request body required"]
        try:
            decoded = json.loads(body)
        except ValueError:
            return [f"{where}: request body is not JSON"]
        return self._validators.errors((op.operation_id, "request"), f"{where} request body", op.body_schema, decoded)

    # --- responses --------------------------------------------------------------------------------
    def response_schema(self, op: Operation, status: int) -> dict[str, Any] | None:
        """The JSON schema for `status`, {} for a declared answer without a body, None if undeclared."""
        key = EXTRA_SUCCESS.get(op.operation_id, {}).get(str(status), str(status))
        declared = op.responses.get(key)
        if declared is None:
            return GENERIC_ERROR_SCHEMA if status in GENERIC_ERROR_STATUSES else None
        if status >= 400:
            return GENERIC_ERROR_SCHEMA
        schema = declared.get("schema")
        return dict(schema) if schema else {}

    def check_response(self, method: str, raw_path: str, status: int, body: Any) -> list[str]:
        """Problems with a response the fake is about to send; `body` None means an empty body."""
        found = self.match(method, raw_path)
        if found is None:
            return [f"{method} {raw_path}: no operation in the contract matches"]
        op = found.operation
        return response_problems(self._validators, op.operation_id, status, self.response_schema(op, status), body)
