"""What the GitHub, GitLab and Argo CD contract checkers share: reading a contract file, validating a
body against one of its schemas (validators cached per operation and status), naming where it failed."""

from __future__ import annotations

import json
import pathlib
from functools import lru_cache
from typing import Any

import jsonschema


@lru_cache(maxsize=8)
def read_contract(path: pathlib.Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def json_path(error: jsonschema.ValidationError) -> str:
    return "body" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)


class BodyValidators:
    """Validates instances against schemas whose `$ref`s point into `root` (the contract's definitions)."""

    def __init__(self, root: dict[str, Any], validator: type[jsonschema.protocols.Validator]) -> None:
        self._root = root
        self._kind = validator
        self._cache: dict[tuple[str, str], jsonschema.protocols.Validator] = {}

    def errors(self, key: tuple[str, str], where: str, schema: dict[str, Any], instance: Any) -> list[str]:
        validator = self._cache.get(key)
        if validator is None:
            validator = self._cache[key] = self._kind({**schema, **self._root})
        found = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
        return [f"{where}: {json_path(e)}: {e.message[:200]}" for e in found]


def response_problems(validators: BodyValidators, operation_id: str, status: int,
                      schema: dict[str, Any] | None, body: Any) -> list[str]:
    """A response against its declared schema: None = the status is not declared, {} = no body declared."""
    where = f"{operation_id} response {status}"
    if schema is None:
        return [f"{where}: status {status} is not declared for {operation_id}"]
    if schema == {}:
        return [] if body is None else [f"{where}: the contract declares no body"]
    if body is None:
        return [f"{where}: body missing"]
    return validators.errors((operation_id, str(status)), where, schema, body)
