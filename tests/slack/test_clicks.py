"""Reading a button click: who, where to answer, the value — a payload without them is a BadInput.

Found by tests/fuzz: a click without `user` or `response_url`, or with a `user` that is not an object,
was a KeyError or TypeError in the listener — an ERROR with a traceback for a payload no button sends.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from bot.errors import BadInput
from bot.slack.clicks import Click, read_click
from bot.slack.ids import ActionId
from bot.slack_sim.web_api import ResponseTarget
from tests.contracts.slack_contract import SlackContract
from tests.release.scenario import SANDBOX, release_config, scenario

URL = "https://hooks.slack.com/actions/T0/1/abc"
BODY = {"user": {"id": "U0ALICE"}, "response_url": URL, "trigger_id": "1.2.3", "actions": [{"value": "7"}]}


def test_a_click_names_who_where_and_the_value() -> None:
    assert read_click(BODY) == Click("U0ALICE", URL, "7", "1.2.3")
    assert read_click({**BODY, "actions": [{}], "trigger_id": None}) == Click("U0ALICE", URL, None, None)


@pytest.mark.parametrize(("change", "complaint"), [
    ({"user": None}, "who clicked"), ({"user": "U0ALICE"}, "who clicked"), ({"user": 7}, "who clicked"),
    ({"user": {"id": ""}}, "who clicked"), ({"user": {"id": ["U0ALICE"]}}, "who clicked"),
    ({"user": {"id": "alice"}}, "who clicked"),
    ({"response_url": None}, "where to answer"), ({"response_url": ""}, "where to answer"),
    ({"response_url": 5}, "where to answer"), ({"response_url": "file:///etc/passwd"}, "where to answer"),
])
def test_a_click_without_who_or_where_is_a_bad_input(change: dict[str, Any], complaint: str) -> None:
    with pytest.raises(BadInput, match=complaint):
        read_click({**BODY, **change})


async def test_a_click_without_a_user_is_answered_and_changes_nothing(tmp_path: Path,
                                                                      slack_contract: SlackContract) -> None:
    async with scenario(tmp_path, slack_contract, config=release_config(SANDBOX),
                        start=datetime(2026, 11, 18, 10, tzinfo=UTC)) as s:
        await s.command("U0ALICE", "api v1.0.0 to staging")
        [release] = await s.releases()
        before = await s.ledger()
        url = s.stack.api.new_response_url(ResponseTarget(s.parent(release).channel, "U0CAROL"))
        payload = {"type": "block_actions", "team": {"id": "T0SWITCHSIM"}, "response_url": url,
                   "actions": [{"action_id": ActionId.APPROVE.value, "block_id": "actions", "type": "button",
                                "value": str(release.id), "action_ts": "1.0"}]}
        click = await s.stack.slack.post(urlencode({"payload": json.dumps(payload)}),
                                         "application/x-www-form-urlencoded")
        await s.stack.settle()
        assert click.status == 200
        assert s.ephemerals("U0CAROL") == [":warning: this click does not say who clicked"]
        assert await s.ledger() == before
