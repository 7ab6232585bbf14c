"""The Argo CD REST contract the fake Argo CD enforces on every request it answers.

Owns: reading ``../shared/contracts/argocd/argocd_api_subset.json`` (Swagger 2.0, eight operations
cut from argoproj/argo-cd ``assets/swagger.json`` at v3.5.1) and judging, for one exchange, whether
the *request* Switchman sent (method, templated path, declared query parameters and their types,
JSON body against the body parameter's schema, ``Authorization: Bearer``) and the *response* the
fake is about to send (the 200 schema, or ``runtimeError`` for every other status, as the spec's
``default`` says) match it.
"""

from __future__ import annotations

import json
import pathlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import jsonschema

from tests.contracts.schema_check import BodyValidators, read_contract

SUBSET_FILE = "argocd_api_subset.json"
BEARER = re.compile(r"^Bearer \S+$")  # docs/developer-guide/api-docs.md: a session or account token


@dataclass(frozen=True)
class Operation:
    operation_id: str
    method: str
    template: str
    pattern: re.Pattern[str]
    path_params: dict[str, dict[str, Any]]
    query_params: dict[str, dict[str, Any]]
    body_schema: dict[str, Any] | None
    body_required: bool
    responses: dict[str, Any] = field(repr=False)


@dataclass(frozen=True)
class Match:
    operation: Operation
    path_values: dict[str, str]


def _value_ok(raw: str, param: Mapping[str, Any]) -> bool:
    """Whether a path or query string can be the parameter's Swagger type (arrays: each item)."""
    kind = param.get("type", "string")
    if kind == "array":
        return _value_ok(raw, param.get("items", {}))
    if kind == "integer":
        return re.fullmatch(r"-?\d+", raw) is not None
    if kind == "boolean":
        return raw in ("true", "false")
    return "enum" not in param or raw in param["enum"]


class ArgoCDContract:
    """Checks requests to, and responses from, a fake Argo CD against the published subset."""

    def __init__(self, spec: Mapping[str, Any]) -> None:
        self.spec = spec
        self._definitions = {"definitions": spec["definitions"]}
        self.operations: list[Operation] = []
        for template, ops in spec["paths"].items():
            for method, op in ops.items():
                self.operations.append(self._operation(template, method, op))
        # Most literal characters first, so /applications/{name}/sync wins over a looser template.
        self.operations.sort(key=lambda o: -len(re.sub(r"\{[^}]+\}", "", o.template)))
        self._validators = BodyValidators(self._definitions, jsonschema.Draft4Validator)

    @classmethod
    def load(cls, contracts_dir: pathlib.Path | None = None) -> ArgoCDContract:
        """Read the contract; default directory is <project root>/../shared/contracts/argocd."""
        if contracts_dir is None:
            contracts_dir = pathlib.Path(__file__).resolve().parents[2].parent / "shared" / "contracts" / "argocd"
        return cls(read_contract(contracts_dir.resolve() / SUBSET_FILE))

    def _operation(self, template: str, method: str, op: Mapping[str, Any]) -> Operation:
        path_params: dict[str, dict[str, Any]] = {}
        query_params: dict[str, dict[str, Any]] = {}
        body_schema, body_required = None, False
        for param in op.get("parameters", []):
            if param["in"] == "path":
                path_params[param["name"]] = dict(param)
            elif param["in"] == "query":
                query_params[param["name"]] = dict(param)
            elif param["in"] == "body":
                body_schema, body_required = dict(param["schema"]), bool(param.get("required"))
        regex = "".join(f"(?P<{p[1:-1]}>[^/]+)" if p.startswith("{") else re.escape(p)
                        for p in re.split(r"(\{[^}]+\})", template))
        return Operation(op["operationId"], method.upper(), template, re.compile(f"^{regex}$"), path_params,
                         query_params, body_schema, body_required, dict(op.get("responses", {})))

    # --- lookup -----------------------------------------------------------------------------------
    def match(self, method: str, path: str) -> Match | None:
        for op in self.operations:
            if op.method == method.upper() and (m := op.pattern.match(path)):
                return Match(op, m.groupdict())
        return None

    # --- requests ---------------------------------------------------------------------------------
    def check_request(self, method: str, path: str, query: Iterable[tuple[str, str]],
                      headers: Mapping[str, str], body: bytes) -> list[str]:
        """Problems with one request; `path` is decoded, `headers` case-insensitive or lower-cased."""
        found = self.match(method, path)
        if found is None:
            return [f"{method} {path}: no operation in the contract matches"]
        op, where = found.operation, f"{method} {path} ({found.operation.operation_id})"
        problems = [f"{where}: path parameter {name}={value!r} does not fit {op.path_params[name]['type']}"
                    for name, value in found.path_values.items() if not _value_ok(value, op.path_params[name])]
        seen: list[str] = []
        for name, value in query:
            param = op.query_params.get(name)
            if param is None:
                problems.append(f"{where}: query parameter {name!r} is not declared for {op.operation_id}")
            elif not _value_ok(value, param):
                problems.append(f"{where}: query parameter {name}={value!r} does not fit {param.get('type')}")
            elif name in seen and param.get("collectionFormat") != "multi":
                problems.append(f"{where}: query parameter {name!r} repeated")
            seen.append(name)
        lowered = {k.lower(): v for k, v in headers.items()}
        if not BEARER.match(lowered.get("authorization", "")):
            problems.append(f"{where}: header Authorization must be 'Bearer <token>'")
        if body and not lowered.get("content-type", "").startswith("application/json"):
            problems.append(f"{where}: a body must be sent as application/json")
        return problems + self._check_body(op, where, body)

    def _check_body(self, op: Operation, where: str, body: bytes) -> list[str]:
        if op.body_schema is None:
            return [f"{where}: {op.operation_id} takes no request body"] if body else []
        if not body:
            return [f"{where}: request body required"] if op.body_required else []
        try:
            decoded = json.loads(body)
        except ValueError:
            return [f"{where}: request body is not JSON"]
        # Argo CD's gRPC gateway refuses fields its request message lacks ("unknown field").
        declared = self._definition(op.body_schema).get("properties", {})
        unknown = [f"{where}: request body field {k!r} is not in {op.operation_id}'s request"
                   for k in (decoded if isinstance(decoded, dict) else {}) if k not in declared]
        return unknown + self._validators.errors((op.operation_id, "request"), f"{where} request body",
                                                 op.body_schema, decoded)

    def _definition(self, schema: Mapping[str, Any]) -> dict[str, Any]:
        ref = schema.get("$ref", "")
        return dict(self.spec["definitions"][ref.rsplit("/", 1)[-1]]) if ref else dict(schema)

    # --- responses --------------------------------------------------------------------------------
    def check_response(self, method: str, path: str, status: int, body: Any) -> list[str]:
        """Problems with a response the fake is about to send: 200 → its schema, else `default`."""
        found = self.match(method, path)
        if found is None:
            return [f"{method} {path}: no operation in the contract matches"]
        op = found.operation
        declared = op.responses.get(str(status)) or op.responses.get("default")
        where = f"{op.operation_id} response {status}"
        if declared is None:
            return [f"{where}: status {status} is not declared for {op.operation_id}"]
        if body is None:
            return [f"{where}: body missing"]
        return self._validators.errors((op.operation_id, str(status)), where, dict(declared["schema"]), body)

