"""The manifests ask for exactly the bot scopes the code needs: each Web API method called anywhere in
`bot/` and `handlers/`, mapped to its scopes by the shared Slack contracts (no unused scope, none missing).

How calls are found (an AST scan, so a new call anywhere is caught at merge):
- a call of an `AsyncWebClient` method by attribute (`client.chat_postMessage(...)`, `self.client.users_info(...)`);
- any string constant that is exactly a Web API method name (`api_call("auth.test")`, a token check's method).
`bot/slack_sim/` is left out: it is the simulated Slack server, which implements methods rather than calls them.

How a method maps to scopes: the shared contracts list them per method (the docs' bot scopes in the addendum
first, else the 2020 spec). The spec lists alternatives, one per kind of conversation (`channels:` public,
`groups:` private, `im:` DMs, `mpim:` group DMs); CONVERSATIONS says which kinds Switchman touches with each
method, and why. Legacy `chat:write:bot` is today's `chat:write`; `none` needs no scope.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from slack_sdk.web.async_client import AsyncWebClient

ROOT = Path(__file__).resolve().parents[2]
CONTRACTS = ROOT.parent / "shared" / "contracts" / "slack"
SCANNED = ("bot", "handlers")
NOT_A_CLIENT = ROOT / "bot" / "slack_sim"
MANIFESTS = ("manifest.yml", "manifest.socket-mode.yml")

# The kinds of conversation each method is used on; the scopes for other kinds are not asked for.
RELEASE_CHANNELS = {"channels", "groups"}  # a release or rotation channel may be public or private
CONVERSATIONS: dict[str, set[str]] = {
    "conversations.open": {"im"},  # DMs to one person: handoffs, pages, reminders
    "conversations.join": {"channels"},  # only a public channel can be joined
    "conversations.list": RELEASE_CHANNELS,  # the id of a channel configured as #name
    # An interrupted post is looked for where it was made: a release or rotation channel, or a DM.
    "conversations.history": RELEASE_CHANNELS | {"im"},
    "conversations.replies": RELEASE_CHANNELS | {"im"},
}
# Called with the app-level token (xapp-…), whose scope (connections:write) is chosen when the token is made.
APP_TOKEN_METHODS = {"apps.connections.open"}
LEGACY = {"chat:write:bot": "chat:write"}
KINDS = ("channels", "groups", "im", "mpim")


def known_methods() -> dict[str, list[str]]:
    """Every Web API method of the contracts and its scopes (bot scopes where the docs give them)."""
    spec = json.loads((CONTRACTS / "slack_web_openapi_v2.json").read_text())
    methods: dict[str, list[str]] = {}
    for path, operations in spec["paths"].items():
        for operation in operations.values():
            for requirement in operation.get("security") or []:
                methods[path.lstrip("/")] = [s for scopes in requirement.values() for s in scopes]
    for name in ("slack_web_api_subset.json", "slack_web_api_addendum.json"):
        for method, described in json.loads((CONTRACTS / name).read_text())["methods"].items():
            per_docs = (described.get("required_scopes_per_docs") or {}).get("bot")
            scopes = per_docs or described.get("required_scopes")
            if scopes is not None or method not in methods:
                methods[method] = list(scopes or [])
    return methods


def python_files() -> Iterator[Path]:
    for top in SCANNED:
        for path in sorted((ROOT / top).rglob("*.py")):
            if NOT_A_CLIENT not in path.parents:
                yield path


def methods_called(known: dict[str, list[str]]) -> dict[str, set[str]]:
    """Web API method → the files that call it."""
    called: dict[str, set[str]] = {}
    for path in python_files():
        where = str(path.relative_to(ROOT))
        for node in ast.walk(ast.parse(path.read_text(), filename=where)):
            method = None
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                attribute = node.func.attr
                if hasattr(AsyncWebClient, attribute):
                    method = client_method(attribute, known)
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in known:
                method = node.value
            if method is not None:
                called.setdefault(method, set()).add(where)
    return called


def client_method(attribute: str, known: dict[str, list[str]]) -> str | None:
    """`usergroups_users_list` → `usergroups.users.list`; camelCase parts keep their case."""
    dotted = attribute.replace("_", ".")
    return dotted if dotted in known else None


def scopes_needed(method: str, known: dict[str, list[str]]) -> set[str]:
    if method in APP_TOKEN_METHODS:
        return set()
    needed = set()
    for scope in known[method]:
        scope = LEGACY.get(scope, scope)
        if scope == "none" or scope.endswith(":user"):
            continue
        kind = scope.split(":", 1)[0]
        if kind in KINDS and kind not in CONVERSATIONS.get(method, set(KINDS)):
            continue
        needed.add(scope)
    return needed


def required_scopes() -> dict[str, set[str]]:
    """Scope → the methods (or features) that need it."""
    known = known_methods()
    needs: dict[str, set[str]] = {"commands": {"features.slash_commands"}}
    for method in methods_called(known):
        for scope in scopes_needed(method, known):
            needs.setdefault(scope, set()).add(method)
    return needs


def bot_scopes(manifest: str) -> set[str]:
    return set(yaml.safe_load((ROOT / manifest).read_text())["oauth_config"]["scopes"]["bot"])


def test_the_scan_finds_the_calls_it_must() -> None:
    called = methods_called(known_methods())

    # One of each way a call is made: a client attribute, a string handed to api_call, the outbox's client.
    assert "bot/slack/directory.py" in called["usergroups.users.list"]
    assert "bot/slack/token_check.py" in called["auth.test"]
    assert "bot/slack/outbox_wire.py" in called["chat.postMessage"]
    assert "apps.connections.open" in called
    assert "reactions.add" not in called


@pytest.mark.parametrize("manifest", MANIFESTS)
def test_the_manifest_asks_for_no_unused_and_no_missing_scope(manifest: str) -> None:
    needs = required_scopes()
    declared = bot_scopes(manifest)

    missing = {scope: sorted(needs[scope]) for scope in set(needs) - declared}
    unused = declared - set(needs)
    assert missing == {}, f"{manifest} lacks scopes the code needs (scope: methods that need it)"
    assert unused == set(), f"{manifest} asks for scopes no code uses"


def test_scopes_are_derived_from_the_contracts() -> None:
    known = known_methods()

    assert scopes_needed("chat.postMessage", known) == {"chat:write"}
    assert scopes_needed("conversations.open", known) == {"im:write"}
    assert scopes_needed("conversations.join", known) == {"channels:join"}  # the docs' bot scope
    assert scopes_needed("files.completeUploadExternal", known) == {"files:write"}
    assert scopes_needed("views.open", known) == set()
    assert scopes_needed("users.lookupByEmail", known) == {"users:read.email"}
