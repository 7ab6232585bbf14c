"""Load switchman.yml into `SwitchmanConfig`, reporting every problem with file, line and key.

PyYAML's composer gives each node its position; we build the plain data ourselves so we
can remember the line of every key, refuse duplicate keys (YAML would silently keep the
last), and keep `10:00` a string (YAML 1.1 would read it as the base-60 number 600).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from bot.config.models import SwitchmanConfig, cross_reference_paths
from bot.errors import ConfigError, ConfigProblem

Path_ = tuple[str | int, ...]
# libyaml's parser when PyYAML was built with it (several times faster on a config of 1,000 rotations); its
# nodes carry the same marks. Scalars are constructed by one SafeConstructor per file, not a loader per scalar.
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_FRIENDLY = {
    "extra_forbidden": "unknown key",
    "missing": "required key is missing",
    "string_type": "expected text",
    "int_type": "expected a whole number",
    "int_parsing": "expected a whole number",
    "bool_type": "expected true or false",
    "bool_parsing": "expected true or false",
    "list_type": "expected a list",
    "dict_type": "expected a mapping of keys to values",
    "model_type": "expected a mapping of keys to values",
    "float_type": "expected a number",
    "float_parsing": "expected a number",
}


def load_config(path: Path | str) -> SwitchmanConfig:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([ConfigProblem(str(path), None, "", f"cannot read the file: {exc.strerror}")]) from None
    return parse_config(text, str(path))


def parse_config(text: str, filename: str = "switchman.yml") -> SwitchmanConfig:
    data, lines = _load_yaml(text, filename)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError([ConfigProblem(filename, 1, "", "the top level must be a mapping with providers, "
                                                       "services and rotations")])
    try:
        return SwitchmanConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_problems(exc, lines, filename)) from None


def _load_yaml(text: str, filename: str) -> tuple[Any, dict[Path_, int]]:
    try:
        node = yaml.compose(text, Loader=_LOADER)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise ConfigError([ConfigProblem(filename, line, "", f"not valid YAML: {exc.problem or exc}")]) from None
    lines: dict[Path_, int] = {}
    if node is None:
        return None, lines
    problems: list[ConfigProblem] = []
    data = _build(node, (), lines, problems, filename, yaml.constructor.SafeConstructor())
    if problems:
        raise ConfigError(problems)
    return data, lines


def _build(node: yaml.Node, path: Path_, lines: dict[Path_, int], problems: list[ConfigProblem], filename: str,
           constructor: yaml.constructor.SafeConstructor) -> Any:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = _scalar(key_node, constructor) if isinstance(key_node, yaml.ScalarNode) else None
            if not isinstance(key, str | int):
                problems.append(ConfigProblem(filename, key_node.start_mark.line + 1, _dotted(path),
                                              "keys must be plain names"))
                continue
            key = str(key)
            if key in out:
                problems.append(ConfigProblem(filename, key_node.start_mark.line + 1, _dotted((*path, key)),
                                              f"duplicate key (first given on line {lines[(*path, key)]})"))
                continue
            lines[(*path, key)] = key_node.start_mark.line + 1
            out[key] = _build(value_node, (*path, key), lines, problems, filename, constructor)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, (*path, i), lines, problems, filename, constructor)
                for i, item in enumerate(node.value)]
    return _scalar(node, constructor)


def _scalar(node: yaml.Node, constructor: yaml.constructor.SafeConstructor) -> Any:
    if node.tag == "tag:yaml.org,2002:int" and ":" in str(node.value):
        return node.value  # sexagesimal in YAML 1.1; everyone means a time of day
    if node.tag in ("tag:yaml.org,2002:timestamp",):
        return node.value
    value = constructor.construct_object(node, deep=True)
    constructor.constructed_objects.clear()  # it would keep every node it built
    return value


def _problems(exc: ValidationError, lines: dict[Path_, int], filename: str) -> list[ConfigProblem]:
    out: list[ConfigProblem] = []
    for error in exc.errors(include_url=False):
        data_path = _data_path(error["loc"], lines)
        message = _message(error)
        if not data_path and error["type"] == "value_error" and ": " in message:
            for dotted, text in cross_reference_paths(message):
                found = _path_of(dotted, lines)
                out.append(ConfigProblem(filename, _line(found, lines), dotted, text))
            continue
        if error["type"] == "extra_forbidden":
            message = f"unknown key {data_path[-1]!r}" if data_path else message
        out.append(ConfigProblem(filename, _line(data_path, lines), _dotted(data_path), message))
    return out


def _data_path(loc: tuple[Any, ...], lines: dict[Path_, int]) -> Path_:
    """Keep the parts of a pydantic location that are real keys or indexes in the file."""
    path: Path_ = ()
    matched_last = False
    for part in loc:
        candidate = (*path, part)
        matched_last = candidate in lines
        if matched_last:
            path = candidate
    # A missing key is not in the file; name it anyway (it is located at its parent).
    if loc and not matched_last and isinstance(loc[-1], str) and loc[-1] not in _union_tags(loc):
        return (*path, loc[-1])
    return path


def _line(path: Path_, lines: dict[Path_, int]) -> int:
    while path not in lines:
        path = path[:-1]
    return lines[path]


def _union_tags(loc: tuple[Any, ...]) -> set[str]:
    return {p for p in loc if isinstance(p, str) and ("[" in p or p in _GATE_TAGS)}


_GATE_TAGS = {"ci_green", "not_locked", "no_concurrent_deploy", "promoted_from", "approval", "freeze_window",
              "oncall_present", "prometheus", "http"}


def _path_of(dotted: str, lines: dict[Path_, int]) -> Path_:
    best: Path_ = ()
    parts = dotted.split(".")
    for i in range(1, len(parts) + 1):
        candidate = tuple(parts[:i])
        if candidate in lines:
            best = candidate
    return best


def _message(error: Any) -> str:
    kind = error["type"]
    text = str(error["msg"])
    if kind == "value_error":
        text = text.removeprefix("Value error, ")
    elif kind == "string_pattern_mismatch":
        text = f"{error.get('input')!r} has the wrong form (expected to match {error['ctx']['pattern']})"
    elif kind == "literal_error":
        text = f"{error.get('input')!r} is not allowed; expected {error['ctx']['expected']}"
    elif kind in _FRIENDLY:
        got = error.get("input")
        text = _FRIENDLY[kind] + ("" if kind in ("missing", "extra_forbidden") else f"; got {got!r}")
    return text


def _dotted(path: Path_) -> str:
    return ".".join(str(p) for p in path)
