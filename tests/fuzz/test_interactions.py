"""Forged block actions, view submissions and App Home events through the real Bolt app.

Every action id and callback id the app registers gets payloads in Slack's shape with forged parts:
values that are arbitrary text, huge numbers, ids of nothing, JSON fragments; user ids of nobody;
fields removed. The answer is a 200 (or a 404 for a payload no listener takes), a field error or a
clear ephemeral, never a 5xx, an apology with an error id or an ERROR log line — and a click or a
form that names nothing valid stores nothing. Payloads that are valid (an approver approving a real
release) act as they should; only their answer is checked.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.commands.limits import parse_button_id
from bot.errors import BadInput
from bot.slack.clicks import USER_ID
from bot.slack.ids import ActionId, CallbackId
from bot.slack.release_modals import read_deploy_modal, read_override_modal, read_rollback_modal
from bot.slack_sim.interactions import Delivery
from bot.slack_sim.web_api import ResponseTarget
from bot.slack_sim.workspace import TEAM_ID
from tests.contracts.slack_contract import SlackContract
from tests.fuzz.bed import DATABASES, Bed, Mark, running_bed
from tests.fuzz.policy import fuzz
from tests.fuzz.strategies import JSON, NUMBERS, any_text, near_valid
from tests.fuzz.test_commands_wire import CONFIG

REAL_USERS = ["U0ALICE", "U0CAROL", "U0BOB", "U01OPS1", "U01OPS2", "U01DEV1"]
SERIAL = itertools.count(1_000_000)
MISSING = object()  # a field left out of the payload
VALUES = st.one_of(
    st.sampled_from(["1", "2", "3", "#1", "#2", "0", "4", "999", "2147483647", "2147483648", "-1", "", " 1"]),
    NUMBERS, any_text(max_size=40), JSON.map(json.dumps), st.just(MISSING), JSON,
)
USER_IDS = st.one_of(st.sampled_from(REAL_USERS), st.sampled_from(["U0NOBODY", "W0NOBODY", "", "B0BOT", "USLACKBOT"]),
                     any_text(max_size=20))
# Bolt reads `user` before any listener runs, as an object or an id; what it cannot read at all (a number,
# a boolean) is the web server's to refuse: test_a_user_field_bolt_cannot_read_is_refused below.
USERS = st.one_of(
    USER_IDS.map(lambda u: {"id": u, "username": "someone", "team_id": TEAM_ID}),
    st.just(MISSING), st.none(), USER_IDS, st.lists(JSON, max_size=3),
    st.dictionaries(any_text(max_size=8), JSON, max_size=3),
)
# A form's answer goes by DM, which Slack opens only with a real person: an id shaped like Slack's is Slack's
# word (the payload is signed), so forms are forged with people of the workspace or ids of no shape at all.
FORM_USERS = st.one_of(
    st.sampled_from(REAL_USERS).map(lambda u: {"id": u, "username": "someone", "team_id": TEAM_ID}),
    any_text(max_size=20).filter(lambda u: USER_ID.fullmatch(u) is None).map(lambda u: {"id": u}),
    st.just(MISSING), st.none(), st.lists(JSON, max_size=3), st.dictionaries(any_text(max_size=8), JSON, max_size=3),
)
DROPPABLE = ["response_url", "trigger_id", "container", "channel", "message", "team", "api_app_id", "token"]


@pytest.fixture(scope="module", params=DATABASES)
def bed(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
        slack_contract: SlackContract) -> Iterator[Bed]:
    """The stack with something for forged values to name: releases #1 (staging) and #2 (production,
    blocked by a lock), page #1, swap request #1, and an open form of each kind."""
    with running_bed(request, tmp_path_factory.mktemp("fuzz-interactions"), slack_contract, config=CONFIG) as running:
        s = running.s
        for user, command, text in [
            ("U0ALICE", "/deploy", "api v1.0.0 to staging"),
            ("U0CAROL", "/deploy", 'lock api production --reason "database maintenance"'),
            ("U0ALICE", "/deploy", "api v1.0.0 to production"),
            ("U01OPS1", "/oncall", 'page api-oncall "checkout is down"'),
            ("U01OPS1", "/oncall", "swap api-oncall <@U01OPS2> 2026-11-25"),
            ("U0ALICE", "/deploy", ""), ("U0ALICE", "/rollback", ""),
        ]:
            running.run(s.command(user, text, command=command))
        release = running.run(s.release(2))
        running.run(s.press("U0CAROL", release, ActionId.OVERRIDE))
        running.assert_nothing_broke(Mark(0, 0, 0, 0), "the seeding")
        yield running


def opened_view(bed: Bed, callback_id: CallbackId) -> dict[str, Any]:
    views = [e.view for e in bed.s.stack.workspace.events if e.kind == "view_open" and e.view
             and e.view.get("callback_id") == callback_id.value]
    assert views, f"no {callback_id} form was opened"
    return views[0]


def deliver(bed: Bed, payload: dict[str, Any]) -> Delivery:
    bed.pause()
    delivery = bed.run(bed.s.stack.slack.post(urlencode({"payload": json.dumps(payload)}),
                                              "application/x-www-form-urlencoded"))
    bed.run(bed.s.stack.settle())
    return delivery


def a_click(bed: Bed, data: st.DataObject, action_id: str) -> tuple[dict[str, Any], object, object]:
    """A block_actions payload as Slack sends it for a button on the release's message, with forged parts."""
    user, value = data.draw(USERS, label="user"), data.draw(VALUES, label="value")
    message = bed.s.parent(bed.run(bed.s.release(1)))
    action: dict[str, Any] = {"action_id": action_id, "block_id": "actions", "type": "button",
                              "action_ts": f"{next(SERIAL)}.000100"}
    if value is not MISSING:
        action["value"] = value
    user_id = user.get("id") if isinstance(user, dict) else None
    payload: dict[str, Any] = {
        "type": "block_actions", "team": {"id": TEAM_ID, "domain": "switchman-sim"}, "api_app_id": "A0SWITCH",
        "token": "legacy-verification-token-unused",
        "container": {"type": "message", "message_ts": message.ts, "channel_id": message.channel,
                      "is_ephemeral": False},
        "trigger_id": trigger(bed, user_id),
        "channel": {"id": message.channel},
        "message": {"type": "message", "ts": message.ts, "text": message.text, "blocks": message.blocks},
        "response_url": bed.s.stack.api.new_response_url(_target(message.channel, user_id)),
        "actions": [action],
    }
    if user is not MISSING:
        payload["user"] = user
    for field in data.draw(st.lists(st.sampled_from(DROPPABLE), max_size=3, unique=True), label="dropped"):
        del payload[field]
    return payload, user, value


def _target(channel: str, user: object) -> ResponseTarget:
    return ResponseTarget(channel, user if isinstance(user, str) else "")


def trigger(bed: Bed, user: object) -> str:
    """A trigger id Slack would hand out with the interaction (views.open accepts only those)."""
    trigger_id = f"{next(SERIAL)}.{TEAM_ID}.fuzz"
    bed.s.stack.api.register_trigger(trigger_id, user if isinstance(user, str) else "U0ALICE")
    return trigger_id


def genuine_click(user: object, value: object, payload: dict[str, Any]) -> bool:
    """Whether the click names a real person and a well-formed id, with every field Slack always sends."""
    try:
        parse_button_id(value, what="thing")
    except BadInput:
        return False
    return (isinstance(user, dict) and user.get("id") in REAL_USERS
            and all(field in payload for field in ("response_url", "trigger_id")))


def refused_before_bolt(bed: Bed, delivery: Any, before: dict[str, int], mark: Any, payload: Any) -> bool:
    """A payload whose envelope Slack never sends (a `user` that is not an object, …) is refused with 400
    and the field it got wrong, before Bolt reads it: nothing breaks and nothing is stored."""
    if delivery.status != 400:
        return False
    assert "is not what Slack sends" in delivery.json()["error"], (payload, delivery)
    bed.assert_nothing_broke(mark, payload)
    assert bed.rows() == before, f"a refused payload stored something: {payload}"
    return True


@pytest.mark.parametrize("action_id", list(ActionId))
def test_a_forged_click_on_any_button_is_answered_and_stores_nothing(bed: Bed, action_id: ActionId) -> None:
    @fuzz(20)
    @given(data=st.data())
    def check(data: st.DataObject) -> None:
        payload, user, value = a_click(bed, data, action_id.value)
        before, mark = bed.rows(), bed.mark()
        delivery = deliver(bed, payload)
        if refused_before_bolt(bed, delivery, before, mark, payload):
            return
        assert delivery.status == 200, (payload, delivery)
        bed.assert_nothing_broke(mark, payload)
        if "response_url" in payload:  # without one there is nowhere to answer; Slack always sends it
            assert bed.said_since(mark), f"no answer to {payload}"
        answers = [e.text for e in bed.s.stack.workspace.events[mark.events:] if e.kind == "ephemeral"]
        if not genuine_click(user, value, payload) or (
                answers and all(a.startswith((":warning: ", ":no_entry: ")) for a in answers)):
            assert bed.rows() == before, f"a forged or refused click stored something: {payload} {answers}"

    check()


def _select(value: str) -> dict[str, Any]:
    return {"type": "static_select", "selected_option": {"text": {"type": "plain_text", "text": value},
                                                         "value": value}}


def _typed(value: str) -> dict[str, Any]:
    return {"type": "plain_text_input", "value": value}


# What each form sends when filled in as intended; the fuzz replaces or removes parts of it.
FILLED: dict[CallbackId, dict[str, Any]] = {
    CallbackId.DEPLOY_MODAL: {"target": {"target": _select("api/staging")}, "ref": {"ref": _typed("v1.0.0")},
                              "strategy": {"strategy": _select("canary")},
                              "reason": {"reason": _typed("from the form")}},
    CallbackId.ROLLBACK_MODAL: {"target": {"target": _select("api/staging/1")},
                                "reason": {"reason": _typed("errors went up")}},
    CallbackId.OVERRIDE_MODAL: {"gates": {"gates": {"type": "checkboxes", "selected_options": [
        {"text": {"type": "plain_text", "text": "not_locked"}, "value": "not_locked"}]}},
        "reason": {"reason": _typed("the maintenance is over")}},
}
METADATA = st.one_of(st.just(json.dumps({"release_id": 2})), st.just(json.dumps({"release_id": 1})),
                     JSON.map(json.dumps), any_text(max_size=30), JSON,
                     st.integers().map(lambda n: json.dumps({"release_id": n})))


def a_submission(bed: Bed, data: st.DataObject, callback_id: CallbackId) -> tuple[dict[str, Any], bool]:
    """A view_submission of an opened form with forged values, metadata, user or view id; and whether it is
    one the app should act on (a real person, a view Slack names, values its reader accepts)."""
    view = dict(opened_view(bed, callback_id))
    if data.draw(st.booleans(), label="near valid"):
        values: Any = near_valid(FILLED[callback_id], data)
    else:
        values = data.draw(st.dictionaries(st.sampled_from(sorted(FILLED[callback_id])), JSON) | JSON, label="values")
    view["state"] = {"values": values}
    if callback_id == CallbackId.OVERRIDE_MODAL and data.draw(st.booleans(), label="forge metadata"):
        view["private_metadata"] = data.draw(METADATA, label="metadata")
    if data.draw(st.booleans(), label="forge view id"):
        view["id"] = data.draw(st.one_of(st.just(MISSING), JSON), label="view id")
        if view["id"] is MISSING:
            del view["id"]
    user = data.draw(FORM_USERS, label="user")
    user_id = user.get("id") if isinstance(user, dict) else None
    payload: dict[str, Any] = {"type": "view_submission", "team": {"id": TEAM_ID, "domain": "switchman-sim"},
                               "api_app_id": "A0SWITCH", "token": "legacy-verification-token-unused",
                               "trigger_id": trigger(bed, user_id), "view": view, "response_urls": []}
    if user is not MISSING:
        payload["user"] = user
    read = {CallbackId.DEPLOY_MODAL: lambda: read_deploy_modal(values),
            CallbackId.ROLLBACK_MODAL: lambda: read_rollback_modal(values),
            CallbackId.OVERRIDE_MODAL: lambda: read_override_modal(view)}[callback_id]
    try:
        accepted = not isinstance(read(), dict)
    except Exception:  # a reader that fails on the values is what the test is about to report
        accepted = False
    return payload, accepted and user_id in REAL_USERS and isinstance(view.get("id"), str)


@pytest.mark.parametrize("callback_id", list(CallbackId))
def test_a_forged_form_submission_is_answered_and_stores_nothing(bed: Bed, callback_id: CallbackId) -> None:
    @fuzz(40)
    @given(data=st.data())
    def check(data: st.DataObject) -> None:
        payload, genuine = a_submission(bed, data, callback_id)
        before, mark = bed.rows(), bed.mark()
        delivery = deliver(bed, payload)
        if refused_before_bolt(bed, delivery, before, mark, payload):
            return
        assert delivery.status == 200, (payload, delivery)
        answer = delivery.json()
        if answer:  # field errors beside the fields, in the shape Slack accepts
            assert answer["response_action"] == "errors" and answer["errors"], answer
            assert all(isinstance(k, str) and isinstance(v, str) and v for k, v in answer["errors"].items())
        bed.assert_nothing_broke(mark, payload)
        if not genuine:
            assert bed.rows() == before, f"a forged form stored something: {payload}"

    check()


def test_a_forged_app_home_opened_event_publishes_for_real_people_only(bed: Bed) -> None:
    # Slack sends the event for its own users only, so an id of nobody is not tried here: views.publish
    # would refuse it and the failure is rightly an ERROR. Malformed ids must not reach Slack at all.
    # (A number or a boolean is what Bolt itself cannot read: see the xfail test below.)
    real_or_malformed = st.one_of(st.sampled_from(REAL_USERS), st.sampled_from(["", "alice", "B0BOT", "<@U0ALICE>"]),
                                  st.none(), st.lists(JSON, max_size=3), st.dictionaries(any_text(max_size=8), JSON))

    @fuzz(30)
    @given(user=real_or_malformed, tab=st.sampled_from(["home", "messages", "about", ""]) | JSON,
           drop=st.sets(st.sampled_from(["user", "tab", "channel"])))
    def check(user: object, tab: object, drop: set[str]) -> None:
        event = {"type": "app_home_opened", "user": user, "channel": "D0ALICE", "tab": tab}
        for field in drop:
            del event[field]
        before, mark = bed.rows(), bed.mark()
        delivery = bed.run(bed.s.stack.slack.event(event))
        bed.run(bed.s.stack.settle())
        if refused_before_bolt(bed, delivery, before, mark, event):
            assert not isinstance(user, str), event  # only a user Slack would never send is refused so
            return
        assert delivery.status in (200, 404), (event, delivery)
        bed.assert_nothing_broke(mark, event)
        assert bed.rows() == before
        published = [e for e in bed.s.stack.workspace.events[mark.events:] if e.kind == "home"]
        shown = user in REAL_USERS and event.get("tab", "home") == "home" and "user" in event
        assert len(published) == (1 if shown else 0), (event, published)

    check()


@pytest.mark.parametrize("user", [7, 1.5, False])
def test_a_user_field_bolt_cannot_read_is_refused(bed: Bed, user: object) -> None:
    payload = {"type": "view_submission", "team": {"id": TEAM_ID}, "user": user, "trigger_id": trigger(bed, None),
               "view": opened_view(bed, CallbackId.DEPLOY_MODAL)}
    mark = bed.mark()
    submitted = deliver(bed, payload)
    opened = bed.run(bed.s.stack.slack.event({"type": "app_home_opened", "user": user, "tab": "home"}))
    assert 400 <= submitted.status < 500 and 400 <= opened.status < 500, (submitted, opened)
    bed.assert_nothing_broke(mark, payload)
