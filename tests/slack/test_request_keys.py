"""The key of a Slack request: the same for each delivery of one invocation, new for the next."""

from __future__ import annotations

from bot.slack.request_keys import MAX_KEY, click_key, request_key

COMMAND = {"team_id": "T0SIM", "user_id": "U0ALICE", "command": "/deploy", "text": "lock api production",
           "trigger_id": "13345224609.738474920.8088930838d88f008e0"}
CLICK = {"type": "block_actions", "team": {"id": "T0SIM"}, "user": {"id": "U0CAROL"},
         "trigger_id": "2.T0SIM.trigger7", "actions": [{"action_id": "release_approve", "action_ts": "1700000000.1"}]}


def test_a_command_or_click_is_keyed_by_team_and_trigger_id() -> None:
    assert request_key(COMMAND) == "T0SIM:13345224609.738474920.8088930838d88f008e0"
    assert request_key(CLICK) == "T0SIM:2.T0SIM.trigger7"
    # What Slack sends for the next invocation carries a new trigger id.
    assert request_key({**COMMAND, "trigger_id": "13345224610.738474920.0"}) != request_key(COMMAND)


def test_a_form_submission_is_keyed_by_its_view() -> None:
    body = {"type": "view_submission", "team": {"id": "T0SIM"}, "trigger_id": "9.T0SIM.x", "view": {"id": "V0FORM"}}
    assert request_key(body) == "T0SIM:V0FORM"


def test_a_click_without_a_trigger_id_is_keyed_by_who_clicked_what_and_when() -> None:
    click = {k: v for k, v in CLICK.items() if k != "trigger_id"}
    assert request_key(click) == "T0SIM:U0CAROL:release_approve:1700000000.1"


def test_a_body_without_any_id_is_keyed_by_its_content() -> None:
    body = {"team_id": "T0SIM", "text": "x"}
    assert request_key(body) == request_key(dict(reversed(body.items())))
    assert request_key(body) != request_key({"team_id": "T0SIM", "text": "y"})


def test_a_long_key_is_hashed_to_fit() -> None:
    key = request_key({**COMMAND, "trigger_id": "t" * 400})
    assert len(key) <= MAX_KEY and key.startswith("T0SIM:sha256:")
    assert key == request_key({**COMMAND, "trigger_id": "t" * 400})


def test_a_double_click_has_one_click_key_and_other_clicks_do_not_share_it() -> None:
    def click(user: str, action_id: str, value: str, trigger: str) -> dict[str, object]:
        return {"type": "block_actions", "team": {"id": "T1"}, "user": {"id": user}, "trigger_id": trigger,
                "actions": [{"action_id": action_id, "value": value, "action_ts": trigger}]}

    first, second = click("U1", "release_approve", "7", "111.1"), click("U1", "release_approve", "7", "222.2")
    assert request_key(first) != request_key(second)
    assert click_key(first) == click_key(second) == "T1:U1:release_approve:7"
    assert click_key(click("U2", "release_approve", "7", "111.1")) != click_key(first)
    assert click_key(click("U1", "release_reject", "7", "111.1")) != click_key(first)
    assert click_key(click("U1", "release_approve", "8", "111.1")) != click_key(first)
    assert click_key({"command": "/deploy", "team_id": "T1", "trigger_id": "1"}) is None
