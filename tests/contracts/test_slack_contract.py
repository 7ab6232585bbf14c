"""Tests for the Slack contract checker used by the fake Slack Web API (no network)."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from . import slack_blocks_limits as limits
from .slack_contract import EXTRA_PARAMS, SUCCESS_FIELDS, SlackContract

CONTRACT = SlackContract.load()
BOT = "xoxb-1111-2222-abcdef"
APP = "xapp-1-A0123456789-1234-abcdef"
CHANNEL = "C0123456789"
USER = "U0123456789"
TS = "1712345678.123456"

SUBSET_METHODS = [
    "chat.postMessage", "chat.update", "chat.postEphemeral", "chat.getPermalink", "conversations.open",
    "views.open", "views.publish", "views.update", "users.info", "usergroups.users.list", "auth.test",
    "reactions.add", "apps.connections.open",
]
ALL_METHODS = [*SUBSET_METHODS, "usergroups.users.update"]


def text(value: str, kind: str = "plain_text") -> dict[str, Any]:
    return {"type": kind, "text": value}


def section(value: str = "Release *api v1.2.3* is rolling out") -> dict[str, Any]:
    return {"type": "section", "text": text(value, "mrkdwn")}


def button(label: str = "Roll back", action_id: str = "rollback", **extra: Any) -> dict[str, Any]:
    return {"type": "button", "text": text(label), "action_id": action_id, **extra}


def option(label: str = "production", value: str = "prod") -> dict[str, Any]:
    return {"text": text(label), "value": value}


def confirm(title: str = "Roll back?", body: str = "Redeploys.", deny: str = "Cancel") -> dict[str, Any]:
    return {"title": text(title), "text": text(body, "mrkdwn"), "confirm": text("Roll back"),
            "deny": text(deny)}


def release_blocks() -> list[dict[str, Any]]:
    return [
        {"type": "header", "text": text("Release api v1.2.3")},
        {**section(), "block_id": "summary", "accessory": button("Logs", "logs", url="https://ci.example.com/1")},
        {"type": "section", "fields": [text("*Env*\nprod", "mrkdwn"),
                                       text("*By*\n<@U0123456789>", "mrkdwn")]},
        {"type": "divider"},
        {"type": "actions", "block_id": "release_actions", "elements": [
            button("Approve", "approve", style="primary", value="rel-42"),
            button("Roll back", "rollback", style="danger", value="rel-42", confirm=confirm()),
            {"type": "static_select", "action_id": "env", "placeholder": text("Environment"),
             "options": [option("staging", "stg"), option("production", "prod")]},
            {"type": "overflow", "action_id": "more", "options": [option("Details", "details")]},
        ]},
        {"type": "context", "elements": [text("Started 2 min ago", "mrkdwn"),
                                         {"type": "image", "image_url": "https://x.example.com/a.png",
                                          "alt_text": "avatar"}]},
    ]


def modal(**overrides: Any) -> dict[str, Any]:
    view = {
        "type": "modal", "callback_id": "release_modal", "private_metadata": json.dumps({"release": 42}),
        "title": text("Start a release"), "submit": text("Release"), "close": text("Cancel"),
        "blocks": [
            {"type": "input", "block_id": "service", "label": text("Service"),
             "element": {"type": "plain_text_input", "action_id": "service_name",
                         "placeholder": text("e.g. api")}, "hint": text("As in services.yml")},
            {"type": "input", "block_id": "env", "label": text("Environment"),
             "element": {"type": "radio_buttons", "action_id": "env",
                         "options": [option("staging", "stg"),
                                     {"text": text("*prod*", "mrkdwn"), "value": "prod"}]}},
        ],
    }
    view.update(overrides)
    return view


def home_view() -> dict[str, Any]:
    return {"type": "home", "blocks": [section("Your releases"), {"type": "divider"}]}


# Real-looking calls as slack_sdk / bolt would make them (JSON bodies for chat.* / views.*, form for others).
VALID_CALLS: dict[str, tuple[dict[str, Any], str]] = {
    "chat.postMessage": ({"channel": CHANNEL, "text": "Release api v1.2.3 started",
                          "blocks": release_blocks(), "unfurl_links": False,
                          "metadata": {"event_type": "release_started",
                                       "event_payload": {"release_id": "42"}}}, BOT),
    "chat.update": ({"channel": CHANNEL, "ts": TS, "text": "Release done",
                     "blocks": json.dumps(release_blocks())}, BOT),
    "chat.postEphemeral": ({"channel": CHANNEL, "user": USER, "text": "Only you can see this",
                            "thread_ts": TS}, BOT),
    "chat.getPermalink": ({"channel": CHANNEL, "message_ts": TS}, BOT),
    "conversations.open": ({"users": f"{USER},U0987654321", "return_im": "1"}, BOT),
    "views.open": ({"trigger_id": "12345.98765.abcd2358fdea", "view": modal()}, BOT),
    "views.publish": ({"user_id": USER, "view": json.dumps(home_view())}, BOT),
    "views.update": ({"view_id": "VMHU10V25", "hash": "156772938.1827394", "view": modal()}, BOT),
    "users.info": ({"user": USER, "include_locale": "1"}, BOT),
    "usergroups.users.list": ({"usergroup": "S0614TZR7", "include_disabled": "0"}, BOT),
    "auth.test": ({}, BOT),
    "reactions.add": ({"channel": CHANNEL, "name": "rocket", "timestamp": TS}, BOT),
    "apps.connections.open": ({}, APP),
    "usergroups.users.update": ({"usergroup": "S0614TZR7", "users": f"{USER},W0123456789",
                                 "include_count": "1"}, BOT),
}


def call(method: str, **changes: Any) -> list[str]:
    params, token = copy.deepcopy(VALID_CALLS[method])
    params.update(changes)
    return CONTRACT.check_request(method, params, token=token)


def without(method: str, name: str) -> list[str]:
    params, token = copy.deepcopy(VALID_CALLS[method])
    params.pop(name)
    return CONTRACT.check_request(method, params, token=token)


def assert_flags(problems: list[str], *fragments: str) -> None:
    assert problems, "expected a problem, got none"
    assert any(all(f in p for f in fragments) for p in problems), problems


# --- methods and tokens -------------------------------------------------------------------------------

def test_known_methods_cover_subset_and_full_spec() -> None:
    known = CONTRACT.known_methods()
    assert set(ALL_METHODS) <= known
    # 174 spec paths + apps.connections.open (subset only) + files.getUploadURLExternal and
    # files.completeUploadExternal (addendum only)
    assert len(known) == 177


@pytest.mark.parametrize("method", ALL_METHODS)
def test_valid_calls_pass(method: str) -> None:
    assert call(method) == []


@pytest.mark.parametrize("method", ["usergroups.users.updat", "chat.postMesage", "apps.connections.close"])
def test_unknown_method_flagged(method: str) -> None:
    assert_flags(CONTRACT.check_request(method, {}, token=BOT), method, "unknown")


@pytest.mark.parametrize("method", ALL_METHODS)
def test_missing_token_flagged(method: str) -> None:
    params, _ = VALID_CALLS[method]
    assert_flags(CONTRACT.check_request(method, params, token=None), method, "missing token")


def test_token_as_post_parameter_is_accepted_where_docs_allow_it() -> None:
    params = {**VALID_CALLS["reactions.add"][0], "token": BOT}
    assert CONTRACT.check_request("reactions.add", params, token=None) == []


def test_apps_connections_open_needs_app_token_in_header() -> None:
    assert_flags(CONTRACT.check_request("apps.connections.open", {"token": APP}, token=None),
                 "apps.connections.open", "Authorization header")
    assert_flags(CONTRACT.check_request("apps.connections.open", {}, token=BOT),
                 "apps.connections.open", "xapp-")
    post_params = VALID_CALLS["chat.postMessage"][0]
    assert_flags(CONTRACT.check_request("chat.postMessage", post_params, token=APP),
                 "chat.postMessage", "app-level")


def test_method_without_token_parameter_needs_no_token() -> None:
    assert CONTRACT.check_request("api.test", {}, token=None) == []


# --- parameters ---------------------------------------------------------------------------------------

REQUIRED = [(m, p) for m, p in [
    ("chat.postMessage", "channel"), ("chat.update", "channel"), ("chat.update", "ts"),
    ("chat.postEphemeral", "channel"), ("chat.postEphemeral", "user"), ("chat.getPermalink", "channel"),
    ("chat.getPermalink", "message_ts"), ("views.open", "view"), ("views.publish", "user_id"),
    ("views.publish", "view"), ("views.update", "view"), ("users.info", "user"),
    ("usergroups.users.list", "usergroup"), ("reactions.add", "channel"), ("reactions.add", "name"),
    ("reactions.add", "timestamp"), ("usergroups.users.update", "usergroup"),
    ("usergroups.users.update", "users"),
]]


@pytest.mark.parametrize(("method", "name"), REQUIRED)
def test_missing_required_parameter_flagged(method: str, name: str) -> None:
    assert_flags(without(method, name), method, repr(name), "missing")
    assert_flags(call(method, **{name: ""}), method, repr(name), "missing")


@pytest.mark.parametrize(("method", "names"), [
    ("chat.postMessage", ["text", "blocks", "metadata"]), ("chat.postEphemeral", ["text"]),
    ("conversations.open", ["users"]), ("views.open", ["trigger_id"]), ("views.update", ["view_id"]),
])
def test_documented_one_of_requirements(method: str, names: list[str]) -> None:
    params, token = copy.deepcopy(VALID_CALLS[method])
    for name in names:
        params.pop(name)
    assert_flags(CONTRACT.check_request(method, params, token=token), method, "one of")


def test_views_open_accepts_interactivity_pointer_instead_of_trigger_id() -> None:
    params = {"interactivity_pointer": "12345.98765.abcd", "view": modal()}
    assert CONTRACT.check_request("views.open", params, token=BOT) == []


@pytest.mark.parametrize(("method", "name"), [
    ("chat.postMessage", "chanel"), ("chat.update", "unfurl_links"),
    ("chat.postEphemeral", "reply_broadcast"),
    ("users.info", "include_labels"), ("auth.test", "user"), ("reactions.add", "emoji"),
    ("apps.connections.open", "app_id"), ("views.publish", "trigger_id"), ("usergroups.users.update", "name"),
])
def test_unknown_parameter_flagged(method: str, name: str) -> None:
    assert_flags(call(method, **{name: "x"}), method, repr(name), "not an argument")


SAMPLE_VALUES = {"json": {"event_type": "e", "event_payload": {}}, "string": "x", "boolean": "true",
                 "array": ["F0123456789"]}


@pytest.mark.parametrize(("method", "name", "kind"),
                         [(m, n, k) for m, extra in EXTRA_PARAMS.items() for n, k in extra.items()])
def test_allow_listed_documented_parameters_pass(method: str, name: str, kind: str) -> None:
    changes: dict[str, Any] = {name: SAMPLE_VALUES[kind]}
    if name == "markdown_text":  # markdown_text replaces text / blocks
        params, token = copy.deepcopy(VALID_CALLS[method])
        params.pop("text")
        params.pop("blocks", None)
        assert CONTRACT.check_request(method, {**params, **changes}, token=token) == []
    else:
        assert call(method, **changes) == []


@pytest.mark.parametrize(("method", "name", "value"), [
    ("conversations.open", "return_im", "yes"), ("users.info", "include_locale", "True"),
    ("chat.postMessage", "unfurl_media", 1), ("chat.getPermalink", "message_ts", 1712345678.123456),
    ("chat.postMessage", "channel", ["C0123456789"]), ("reactions.add", "name", {"name": "rocket"}),
    ("usergroups.users.update", "users", [1, 2]), ("chat.postMessage", "text", None),
])
def test_wrong_parameter_types_flagged(method: str, name: str, value: Any) -> None:
    assert_flags(call(method, **{name: value}), method, repr(name))


@pytest.mark.parametrize("value", [True, False, "true", "false", "1", "0"])
def test_boolean_spellings_accepted(value: Any) -> None:
    assert call("conversations.open", return_im=value) == []


@pytest.mark.parametrize(("name", "value"), [("blocks", "[{not json"), ("view", "{")])
def test_invalid_json_parameter_flagged(name: str, value: str) -> None:
    method = "chat.postMessage" if name == "blocks" else "views.open"
    assert_flags(call(method, **{name: value}), method, repr(name), "JSON")


# --- Block Kit limits in requests ---------------------------------------------------------------------

def msg(blocks: list[Any], method: str = "chat.postMessage") -> list[str]:
    return call(method, blocks=blocks)


def view_open(view: dict[str, Any]) -> list[str]:
    return call("views.open", view=view)


def actions(*elements: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"type": "actions", "elements": list(elements)}]


LENGTH_CASES: dict[str, tuple[int, Callable[[str], list[str]], str]] = {
    "message text": (40_000, lambda s: call("chat.postMessage", text=s), "arguments.text"),
    "section text": (3000, lambda s: msg([section(s)]), "blocks[0].text.text"),
    "section field": (2000, lambda s: msg([{"type": "section", "fields": [text(s)]}]), "fields[0].text"),
    "header text": (150, lambda s: msg([{"type": "header", "text": text(s)}]), "blocks[0].text.text"),
    "block_id": (255, lambda s: msg([{"type": "divider", "block_id": s}]), "blocks[0].block_id"),
    "button text": (75, lambda s: msg(actions(button(s))), "elements[0].text.text"),
    "action_id": (255, lambda s: msg(actions(button(action_id=s))), "elements[0].action_id"),
    "button value": (2000, lambda s: msg(actions(button(value=s))), "elements[0].value"),
    "button url": (3000, lambda s: msg(actions(button(url=s))), "elements[0].url"),
    "option text": (75, lambda s: msg(actions({"type": "static_select", "options": [option(label=s)]})),
                    "options[0].text.text"),
    "option value": (150, lambda s: msg(actions({"type": "static_select", "options": [option(value=s)]})),
                     "options[0].value"),
    "placeholder": (150, lambda s: msg(actions({"type": "users_select", "placeholder": text(s)})),
                    "placeholder.text"),
    "confirm title": (100, lambda s: msg(actions(button(confirm=confirm(title=s)))), "confirm.title.text"),
    "confirm text": (300, lambda s: msg(actions(button(confirm=confirm(body=s)))), "confirm.text.text"),
    "confirm deny": (30, lambda s: msg(actions(button(confirm=confirm(deny=s)))), "confirm.deny.text"),
    "image alt_text": (2000, lambda s: msg([{"type": "image", "image_url": "https://x.example/a.png",
                                             "alt_text": s}]), "blocks[0].alt_text"),
    "input label": (2000, lambda s: view_open(modal(blocks=[{
        "type": "input", "label": text(s), "element": {"type": "plain_text_input"}}])), "label.text"),
    "input hint": (2000, lambda s: view_open(modal(blocks=[{
        "type": "input", "label": text("l"), "hint": text(s), "element": {"type": "datepicker"}}])),
                   "hint.text"),
    "view title": (24, lambda s: view_open(modal(title=text(s))), "view.title.text"),
    "view close": (24, lambda s: view_open(modal(close=text(s))), "view.close.text"),
    "view submit": (24, lambda s: view_open(modal(submit=text(s))), "view.submit.text"),
    "private_metadata": (3000, lambda s: view_open(modal(private_metadata=s)), "view.private_metadata"),
    "callback_id": (255, lambda s: view_open(modal(callback_id=s)), "view.callback_id"),
}


@settings(max_examples=60, deadline=None)
@given(case=st.sampled_from(sorted(LENGTH_CASES)), offset=st.integers(-3, 3), char=st.sampled_from("aé😀 "))
def test_length_limits(case: str, offset: int, char: str) -> None:
    limit, run, field = LENGTH_CASES[case]
    problems = run(char * (limit + offset))
    if offset > 0:
        assert_flags(problems, field, f"limit is {limit}")
        assert all(":" in p and p.split(":")[0] in ALL_METHODS for p in problems)
    else:
        assert problems == []


def _numbered(make: Callable[[int], dict[str, Any]], n: int) -> list[dict[str, Any]]:
    return [make(i) for i in range(n)]


COUNT_CASES: dict[str, tuple[int, Callable[[int], list[str]], str]] = {
    "message blocks": (50, lambda n: msg([section()] * n), "arguments.blocks"),
    "ephemeral blocks": (50, lambda n: msg([section()] * n, "chat.postEphemeral"), "arguments.blocks"),
    "view blocks": (100, lambda n: view_open(modal(blocks=[section()] * n)), "view.blocks"),
    "home blocks": (100, lambda n: call("views.publish", view={"type": "home", "blocks": [section()] * n}),
                    "view.blocks"),
    "section fields": (10, lambda n: msg([{"type": "section", "fields": [text("f")] * n}]), "fields"),
    "actions elements": (25, lambda n: msg(actions(*_numbered(lambda i: button(action_id=f"a{i}"), n))),
                         "elements"),
    "context elements": (10, lambda n: msg([{"type": "context", "elements": [text("c")] * n}]), "elements"),
    "select options": (100, lambda n: msg(actions({"type": "static_select", "options": [option()] * n})),
                       "options"),
    "overflow options": (5, lambda n: msg(actions({"type": "overflow", "options": [option()] * n})),
                         "options"),
    "checkbox options": (10, lambda n: msg(actions({"type": "checkboxes", "options": [option()] * n})),
                         "options"),
}


@settings(max_examples=40, deadline=None)
@given(case=st.sampled_from(sorted(COUNT_CASES)), offset=st.integers(-2, 2))
def test_count_limits(case: str, offset: int) -> None:
    limit, run, field = COUNT_CASES[case]
    problems = run(limit + offset)
    if offset > 0:
        assert_flags(problems, field, f"limit is {limit}")
    else:
        assert problems == []


@pytest.mark.parametrize(("blocks", "fragment"), [
    ([{"type": "fancy_block"}], "unknown block type 'fancy_block'"),
    ([{"text": text("no type")}], "unknown block type None"),
    (actions({"type": "slider", "action_id": "s"}), "unknown block element type 'slider'"),
    ([{"type": "section", "text": {"type": "markdown", "text": "x"}}], "not plain_text or mrkdwn"),
    ([{"type": "section", "text": {"type": "mrkdwn"}}], "blocks[0].text.text: required"),
    ([{"type": "section", "text": text("", "mrkdwn")}], "blocks[0].text.text: required"),
    ([{"type": "header", "text": text("Hi", "mrkdwn")}], "must be plain_text"),
    (actions(button(text=text("Go", "mrkdwn"))), "must be plain_text"),
    ([{"type": "section", "text": {"type": "mrkdwn", "text": "x", "emoji": True}}], "emoji"),
    ([{"type": "section"}], "section needs text or fields"),
    ([{"type": "actions", "elements": []}], "elements: required"),
    (actions(button(action_id="go"), button(action_id="go")), "duplicate action_id 'go'"),
    ([{**section(), "block_id": "b"}, {"type": "divider", "block_id": "b"}], "duplicate block_id 'b'"),
    (actions(button(style="warning")), "style"),
    (actions(button(confirm={"title": text("t"), "text": text("t"), "confirm": text("y")})),
     "confirm.deny: required"),
    (actions({"type": "static_select", "action_id": "s"}), "options: required"),
    ([{"type": "image", "alt_text": "x"}], "image_url: required"),
    (["not a block"], "expected a block object"),
])
def test_block_structure_problems_flagged(blocks: list[Any], fragment: str) -> None:
    assert_flags(msg(blocks), "chat.postMessage", fragment)


def test_blocks_must_be_an_array() -> None:
    assert_flags(call("chat.postMessage", blocks={"type": "section"}), "chat.postMessage", "array of blocks")


def test_action_ids_may_repeat_across_blocks() -> None:
    assert msg(actions(button(action_id="go")) + actions(button(action_id="go"))) == []


def test_markdown_text_limits_and_conflict() -> None:
    params, _ = copy.deepcopy(VALID_CALLS["chat.postMessage"])
    params.pop("blocks")
    params["markdown_text"] = "**bold**"
    assert_flags(CONTRACT.check_request("chat.postMessage", params, token=BOT), "markdown_text_conflict")
    params.pop("text")
    assert CONTRACT.check_request("chat.postMessage", params, token=BOT) == []
    params["markdown_text"] = "x" * 12_001
    assert_flags(CONTRACT.check_request("chat.postMessage", params, token=BOT), "markdown_text", "12000")


# --- views ----------------------------------------------------------------------------------------------

def modal_without(key: str) -> dict[str, Any]:
    view = modal()
    view.pop(key)
    return view


@pytest.mark.parametrize(("view", "fragment"), [
    (modal_without("submit"), "view.submit: required when the modal has an input block"),
    (modal_without("title"), "view.title: required"),
    (modal(title=text("Start", "mrkdwn")), "view.title.type: must be plain_text"),
    (modal(type="dialog"), "view.type"),
    (modal_without("blocks"), "view.blocks: required"),
    (modal(blocks=[{"type": "input", "label": text("x")}]), "element: required"),
    (modal(blocks=[{"type": "input", "element": {"type": "plain_text_input"}}]), "label: required"),
])
def test_view_problems_flagged(view: dict[str, Any], fragment: str) -> None:
    assert_flags(view_open(view), "views.open", fragment)
    assert_flags(CONTRACT.check_view(view), fragment)


def test_views_publish_requires_home_and_open_requires_modal() -> None:
    assert_flags(call("views.publish", view=modal()), "views.publish", "'home'")
    assert_flags(view_open(home_view()), "views.open", "'modal'")


def test_modal_without_inputs_needs_no_submit() -> None:
    view = modal_without("submit")
    view["blocks"] = [section()]
    assert CONTRACT.check_view(view) == []


@pytest.mark.parametrize("method", ["views.open", "views.publish", "views.update"])
def test_contract_example_views_pass_check_view(method: str) -> None:
    assert CONTRACT.check_view(CONTRACT.example_response(method)["view"]) == []


# --- response_url / ack payloads ------------------------------------------------------------------------

@pytest.mark.parametrize("payload", [
    {"text": "Release started", "response_type": "in_channel", "blocks": release_blocks()},
    {"text": "", "delete_original": True},
    {"text": "Done", "replace_original": True, "unfurl_links": False, "thread_ts": TS},
    {"response_type": "in_channel"},
])
def test_valid_message_payloads_pass(payload: dict[str, Any]) -> None:
    assert CONTRACT.check_message_payload(payload) == []


@pytest.mark.parametrize(("payload", "fragment"), [
    ({"text": "x", "respone_type": "in_channel"}, "respone_type: not a message payload field"),
    ({"text": "x", "response_type": "channel"}, "response_type"),
    ({"text": "x", "replace_original": "true"}, "replace_original: expected a JSON boolean"),
    ({"text": "x" * 40_001}, "text: 40001 characters, limit is 40000"),
    ({"blocks": [section()] * 51}, "blocks: 51 blocks, limit is 50"),
    ({"blocks": json.dumps([section()])}, "array of blocks"),
    ({"blocks": [section("x" * 3001)]}, "blocks[0].text.text"),
    ({"attachments": "nope"}, "attachments"),
])
def test_message_payload_problems_flagged(payload: dict[str, Any], fragment: str) -> None:
    assert_flags(CONTRACT.check_message_payload(payload), "response_url payload", fragment)


def test_check_view_rejects_non_objects() -> None:
    assert_flags(CONTRACT.check_view([]), "expected a view object")  # type: ignore[arg-type]
    assert_flags(limits.check_message_payload("hi"), "expected a JSON object")


# --- responses ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("method", ALL_METHODS)
def test_example_responses_pass(method: str) -> None:
    example = CONTRACT.example_response(method)
    assert example["ok"] is True
    assert CONTRACT.check_response(method, example) == []


def test_example_response_is_a_copy() -> None:
    CONTRACT.example_response("chat.postMessage")["message"]["text"] = "mutated"
    assert CONTRACT.example_response("chat.postMessage")["message"]["text"] != "mutated"


def test_example_response_falls_back_to_sdk_samples() -> None:
    subset = copy.deepcopy(json.loads((CONTRACT.contracts_dir / "slack_web_api_subset.json").read_text()))
    del subset["methods"]["reactions.add"]["responses"]["200"]["examples"]
    spec = json.loads((CONTRACT.contracts_dir / "slack_web_openapi_v2.json").read_text())
    contract = SlackContract(CONTRACT.contracts_dir, subset, spec)
    assert contract.example_response("reactions.add") == {"ok": True}
    with pytest.raises(KeyError):
        CONTRACT.example_response("no.such.method")


BOT_PROFILE = {"id": "B0123456789", "app_id": "A0123456789", "name": "switchman", "deleted": False,
               "updated": 1700000000, "team_id": "T0123456789",
               "icons": {f"image_{n}": f"https://a.slack-edge.com/{n}.png" for n in (36, 48, 72)}}
BOT_MESSAGE = {"type": "message", "text": "Release api v1.2.3 started", "user": USER, "ts": TS,
               "bot_id": "B0123456789", "app_id": "A0123456789", "team": "T0123456789",
               "bot_profile": BOT_PROFILE, "blocks": release_blocks(),
               "metadata": {"event_type": "release_started", "event_payload": {"release_id": "42"}}}
MODERN_RESPONSES: dict[str, dict[str, Any]] = {
    "chat.postMessage": {"ok": True, "channel": CHANNEL, "ts": TS, "message": BOT_MESSAGE,
                         "response_metadata": {"warnings": ["message_truncated"]}},
    "chat.update": {"ok": True, "channel": CHANNEL, "ts": TS, "text": "Done",
                    "message": {**BOT_MESSAGE, "edited": {"user": USER, "ts": TS}}},
    "chat.postEphemeral": {"ok": True, "message_ts": TS, "warning": "superfluous_charset"},
    "conversations.open": {"ok": True, "no_op": True, "already_open": True, "channel": {"id": "D0123456789"}},
    "auth.test": {"ok": True, "url": "https://acme.slack.com/", "team": "Acme", "user": "switchman",
                  "team_id": "T0123456789", "user_id": USER, "bot_id": "B0123456789",
                  "is_enterprise_install": False, "app_id": "A0123456789", "enterprise_id": "E0123456789"},
    "views.open": {"ok": True,
                   "view": {**modal(), "id": "V0123456789", "hash": "1.2", "state": {"values": {}}}},
    "apps.connections.open": {"ok": True, "url": "wss://wss-primary.slack.com/link/?ticket=abc&app_id=A1"},
}


POSTED = MODERN_RESPONSES["chat.postMessage"]


@pytest.mark.parametrize("method", sorted(MODERN_RESPONSES))
def test_todays_documented_response_shapes_pass(method: str) -> None:
    assert CONTRACT.check_response(method, MODERN_RESPONSES[method]) == []


@pytest.mark.parametrize(("method", "body", "fragment"), [
    ("chat.postMessage", {"ok": True, "channel": CHANNEL, "ts": TS}, "'message' is a required property"),
    ("chat.postMessage", {**POSTED, "permalink": "x"}, "'permalink' was unexpected"),
    ("chat.postMessage", {**POSTED, "ts": "1712345678"}, "body.ts"),
    ("chat.postMessage", {**POSTED, "message": {**BOT_MESSAGE, "colour": "red"}}, "body.message"),
    ("auth.test", {k: v for k, v in MODERN_RESPONSES["auth.test"].items() if k != "user_id"}, "user_id"),
    ("reactions.add", {"ok": True, "reaction": "rocket"}, "'reaction' was unexpected"),
    ("chat.getPermalink", {"ok": True, "channel": CHANNEL}, "permalink"),
    ("usergroups.users.list", {"ok": True, "users": ["nobody"]}, "body.users[0]"),
    ("apps.connections.open", {"ok": True, "url": "https://slack.com"}, "body.url"),
    ("chat.postMessage", {"ok": False, "error": "channel_gone"}, "'channel_gone' is not one of"),
    ("chat.postMessage", {"ok": False, "error": "not_in_channel", "detail": "x"}, "'detail' was unexpected"),
    ("chat.postMessage", {"ok": False}, "'error' is a required property"),
    ("chat.postMessage", {"error": "x"}, "boolean 'ok'"),
    ("chat.postMessage", {"ok": True, "channel": CHANNEL, "ts": TS, "message": BOT_MESSAGE,
                          "response_metadata": {"warnings": "message_truncated"}}, "response_metadata"),
])
def test_response_drift_flagged(method: str, body: dict[str, Any], fragment: str) -> None:
    assert_flags(CONTRACT.check_response(method, body), method, fragment)


@pytest.mark.parametrize(("method", "error"), [
    ("chat.postMessage", "invalid_blocks"), ("chat.postMessage", "ratelimited"),
    ("chat.update", "not_authed"),
    ("chat.postEphemeral", "not_in_channel"), ("reactions.add", "already_reacted"),
    ("reactions.add", "is_archived"), ("views.open", "expired_trigger_id"), ("auth.test", "invalid_auth"),
    ("usergroups.users.update", "invalid_users"), ("apps.connections.open", "invalid_auth"),
])
def test_documented_error_responses_pass(method: str, error: str) -> None:
    body = {"ok": False, "error": error, "response_metadata": {"messages": ["[ERROR] details"]}}
    assert CONTRACT.check_response(method, body) == []
    scope_error = {"ok": False, "error": "missing_scope", "needed": "chat:write", "provided": "users:read"}
    assert CONTRACT.check_response(method, scope_error) == []


def test_allow_listed_success_fields_are_observed_in_sdk_samples() -> None:
    subset = json.loads((CONTRACT.contracts_dir / "slack_web_api_subset.json").read_text())
    for method, fields in SUCCESS_FIELDS.items():
        assert set(fields) <= set(subset["methods"][method]["observed_response_keys"]["keys"])


def test_unknown_method_response_flagged() -> None:
    assert_flags(CONTRACT.check_response("chat.postMesage", {"ok": True}), "chat.postMesage", "unknown")


def test_load_with_explicit_directory() -> None:
    contract = SlackContract.load(CONTRACT.contracts_dir)
    assert contract.known_methods() == CONTRACT.known_methods()
    assert contract.contracts_dir.name == "slack"
