"""Tests for the contract checker's reading of the addendum: conversations.history / replies / join and
message metadata (no network)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from .slack_contract import SlackContract

CONTRACT = SlackContract.load()
BOT = "xoxb-1111-2222-abcdef"
CHANNEL = "C0123456789"
USER = "U0123456789"
TS = "1712345678.123456"
REPLY_TS = "1712345679.000100"
METADATA = {"event_type": "release_started", "event_payload": {"release_id": "42"}}

# As slack_sdk's AsyncWebClient sends them: query-string values, booleans as "1" / "0".
VALID_CALLS: dict[str, dict[str, Any]] = {
    "conversations.history": {"channel": CHANNEL, "limit": "50", "oldest": "1712345600.000000",
                              "latest": TS, "inclusive": "1", "cursor": "bmV4dF90czox",
                              "include_all_metadata": "1"},
    "conversations.replies": {"channel": CHANNEL, "ts": TS, "limit": "10", "include_all_metadata": "0"},
    "conversations.join": {"channel": CHANNEL},
}


def call(method: str, **changes: Any) -> list[str]:
    params = {**copy.deepcopy(VALID_CALLS[method]), **changes}
    return CONTRACT.check_request(method, {k: v for k, v in params.items() if v is not None}, token=BOT)


def assert_flags(problems: list[str], *fragments: str) -> None:
    assert problems, "expected a problem, got none"
    assert any(all(f in p for f in fragments) for p in problems), problems


# --- requests -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("method", sorted(VALID_CALLS))
def test_valid_calls_pass(method: str) -> None:
    assert call(method) == []


@pytest.mark.parametrize(("method", "name"), [
    ("conversations.history", "channel"), ("conversations.replies", "channel"), ("conversations.replies", "ts"),
    ("conversations.join", "channel"),
])
def test_required_arguments_flagged(method: str, name: str) -> None:
    # The 2020 spec leaves these optional; the addendum (docs, slack_sdk signatures) requires them.
    assert_flags(call(method, **{name: None}), method, repr(name), "missing")


@pytest.mark.parametrize(("method", "name", "value"), [
    ("conversations.history", "include_all_metadata", "yes"), ("conversations.history", "limit", "ten"),
    ("conversations.history", "oldest", "yesterday"), ("conversations.replies", "ts", "latest"),
])
def test_wrong_argument_types_flagged(method: str, name: str, value: str) -> None:
    assert_flags(call(method, **{name: value}), method, repr(name))


@pytest.mark.parametrize(("method", "name"), [
    ("conversations.history", "thread_ts"), ("conversations.join", "users"), ("conversations.replies", "metadata"),
])
def test_unknown_arguments_flagged(method: str, name: str) -> None:
    assert_flags(call(method, **{name: "x"}), method, repr(name), "not an argument")


def test_files_v2_methods_are_known() -> None:
    params = {"filename": "release-notes.txt", "length": "1024"}
    assert CONTRACT.check_request("files.getUploadURLExternal", params, token=BOT) == []
    assert_flags(CONTRACT.check_request("files.getUploadURLExternal", {"filename": "x"}, token=BOT), "'length'")


# --- message metadata -----------------------------------------------------------------------------------

def post(**changes: Any) -> list[str]:
    return CONTRACT.check_request("chat.postMessage", {"channel": CHANNEL, "text": "Release", **changes},
                                  token=BOT)


@pytest.mark.parametrize("metadata", [METADATA, {"event_type": "a-b_C9", "event_payload": {}},
                                      '{"event_type": "release_started", "event_payload": {"id": 1}}'])
def test_valid_metadata_passes(metadata: Any) -> None:
    assert post(metadata=metadata) == []
    update = {"channel": CHANNEL, "ts": TS, "text": "Done", "metadata": metadata}
    assert CONTRACT.check_request("chat.update", update, token=BOT) == []


@pytest.mark.parametrize(("metadata", "fragment"), [
    ({"event_type": "release started", "event_payload": {}}, "metadata'.event_type"),
    ({"event_type": "release_started"}, "'event_payload' is a required property"),
    ({"event_type": "release_started", "event_payload": ["42"]}, "metadata'.event_payload"),
    ({"event_payload": {}}, "'event_type' is a required property"),
    (["release_started"], "must be a JSON object"),
])
def test_metadata_problems_flagged(metadata: Any, fragment: str) -> None:
    assert_flags(post(metadata=metadata), "chat.postMessage", fragment)
    update = {"channel": CHANNEL, "ts": TS, "text": "Done", "metadata": metadata}
    assert_flags(CONTRACT.check_request("chat.update", update, token=BOT), "chat.update", fragment)


# --- responses ------------------------------------------------------------------------------------------

BOT_MESSAGE = {"type": "message", "text": "Release api v1.2.3", "user": USER, "ts": TS, "team": "T0123456789",
               "bot_id": "B0123456789", "app_id": "A0123456789",
               "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "Release"}}], "metadata": METADATA}
PARENT = {**BOT_MESSAGE, "thread_ts": TS, "reply_count": 2, "reply_users_count": 1, "reply_users": [USER],
          "latest_reply": REPLY_TS, "subscribed": False}
REPLY = {"type": "message", "text": "Gate passed", "user": USER, "ts": REPLY_TS, "thread_ts": TS,
         "parent_user_id": USER, "bot_id": "B0123456789"}
HISTORY = {"ok": True, "messages": [PARENT], "has_more": False, "pin_count": 0, "channel_actions_ts": None,
           "channel_actions_count": 0}
REPLIES = {"ok": True, "messages": [PARENT, REPLY, {**REPLY, "ts": "1712345680.000100"}], "has_more": False}
JOINED = {"ok": True, "channel": {"id": CHANNEL, "name": "releases", "is_channel": True, "is_member": True}}


@pytest.mark.parametrize("method", ["conversations.history", "conversations.replies", "conversations.join",
                                    "users.lookupByEmail", "files.getUploadURLExternal"])
def test_addendum_example_responses_pass(method: str) -> None:
    assert CONTRACT.check_response(method, CONTRACT.example_response(method)) == []


@pytest.mark.parametrize(("method", "body"), [
    ("conversations.history", HISTORY),
    ("conversations.history", {**HISTORY, "messages": [], "has_more": False}),
    ("conversations.history", {**HISTORY, "has_more": True, "response_metadata": {"next_cursor": "bmV4dA=="}}),
    ("conversations.replies", REPLIES),
    ("conversations.replies", {"ok": True, "messages": [BOT_MESSAGE], "has_more": False}),
    ("conversations.join", JOINED),
    ("conversations.join", {**JOINED, "warning": "already_in_channel",
                            "response_metadata": {"warnings": ["already_in_channel"]}}),
])
def test_todays_response_shapes_pass(method: str, body: dict[str, Any]) -> None:
    assert CONTRACT.check_response(method, body) == []


@pytest.mark.parametrize(("method", "body", "fragment"), [
    ("conversations.history", {**HISTORY, "messages": [{**BOT_MESSAGE, "colour": "red"}]}, "body.messages[0]"),
    ("conversations.history", {k: v for k, v in HISTORY.items() if k != "has_more"}, "'has_more'"),
    ("conversations.history", {**HISTORY, "cursor": "x"}, "'cursor' was unexpected"),
    ("conversations.replies", {**REPLIES, "messages": [PARENT, {k: v for k, v in REPLY.items()
                                                                if k != "parent_user_id"}]}, "body.messages[1]"),
    ("conversations.replies", {**REPLIES, "messages": [PARENT, REPLY, {**REPLY, "colour": "red"}]},
     "body.messages[2]"),
    ("conversations.replies", {**REPLIES, "messages": [{k: v for k, v in PARENT.items() if k != "reply_count"}]},
     "body.messages[0]"),
    ("conversations.join", {"ok": True}, "'channel' is a required property"),
])
def test_response_drift_flagged(method: str, body: dict[str, Any], fragment: str) -> None:
    assert_flags(CONTRACT.check_response(method, body), method, fragment)


@pytest.mark.parametrize(("method", "error"), [
    ("conversations.history", "not_in_channel"), ("conversations.history", "invalid_cursor"),
    ("conversations.replies", "thread_not_found"), ("conversations.join", "is_archived"),
    ("conversations.join", "channel_is_limited_access"),
    ("conversations.join", "method_not_supported_for_channel_type"),
    ("chat.postMessage", "restricted_action_thread_locked"), ("chat.postMessage", "invalid_metadata_schema"),
    ("chat.update", "is_inactive"), ("chat.update", "not_in_channel"),
])
def test_documented_errors_pass(method: str, error: str) -> None:
    assert CONTRACT.check_response(method, {"ok": False, "error": error}) == []


def test_missing_scope_answer_passes_and_undocumented_errors_are_flagged() -> None:
    scope = {"ok": False, "error": "missing_scope", "needed": "channels:join", "provided": "chat:write,commands"}
    assert CONTRACT.check_response("conversations.join", scope) == []
    assert_flags(CONTRACT.check_response("conversations.join", {"ok": False, "error": "not_in_channel"}),
                 "conversations.join", "not one of")
    assert_flags(CONTRACT.check_response("conversations.replies", {"ok": False, "error": "thread_gone"}),
                 "conversations.replies", "not one of")
