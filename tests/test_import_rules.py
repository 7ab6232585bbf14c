"""The architecture's import rules, checked on the source (STYLE.md "things to avoid", ENGINE.md).

- `bot/release` and `bot/oncall` reach Slack only through their ports: they import nothing from
  `bot.slack`, `slack_sdk` or `slack_bolt`.
- No module imports another module's underscore names.
- `bot/release` has no import circle, counting imports inside functions (which is how circles hide).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN_IN_DOMAIN = ("bot.slack", "slack_sdk", "slack_bolt")
DOMAINS = ("bot/release", "bot/oncall")


def modules(*folders: str) -> Iterator[tuple[str, Path]]:
    for folder in folders:
        for path in sorted((ROOT / folder).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            yield name.removesuffix(".__init__"), path


def imports(path: Path, module: str) -> Iterator[tuple[str, list[str], int]]:
    """(imported module, names taken from it, line) for every import, at any depth."""
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, [], node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[:len(parts) - node.level + 1] + ([base] if base else []))
            yield base, [a.name for a in node.names], node.lineno


def test_the_domain_reaches_slack_only_through_its_ports() -> None:
    offences = [f"{path.relative_to(ROOT)}:{line} imports {target}"
                for module, path in modules(*DOMAINS)
                for target, _, line in imports(path, module)
                if target.startswith(FORBIDDEN_IN_DOMAIN)]
    assert offences == []


def test_no_module_takes_another_modules_underscore_names() -> None:
    offences = [f"{path.relative_to(ROOT)}:{line} takes {name} from {target}"
                for module, path in modules("bot", "handlers")
                for target, names, line in imports(path, module)
                for name in names
                if name.startswith("_") and not name.startswith("__") and target != module]
    assert offences == []


def test_bot_release_has_no_import_circle() -> None:
    graph: dict[str, set[str]] = {}
    for module, path in modules("bot/release"):
        targets = set()
        for target, names, _ in imports(path, module):
            targets.add(target)
            targets.update(f"{target}.{n}" for n in names)  # `from bot.release import engine`
        graph[module] = {t for t in targets if t in dict(modules("bot/release")) and t != module}

    def circle_from(start: str) -> list[str] | None:
        stack: list[tuple[str, list[str]]] = [(start, [start])]
        while stack:
            node, path = stack.pop()
            for nxt in graph.get(node, ()):
                if nxt == start:
                    return [*path, start]
                if nxt not in path:
                    stack.append((nxt, [*path, nxt]))
        return None

    circles = [c for m in graph if (c := circle_from(m))]
    assert circles == [], " → ".join(circles[0]) if circles else ""
