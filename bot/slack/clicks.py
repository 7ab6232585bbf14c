"""A button click read once and checked: who clicked, where to answer them, and the value on the button.

Slack always sends these for a button on a message Switchman posted; a payload without them did not
come from one, so it gets a BadInput (answered on its response_url when it has one) instead of a
KeyError deep in a listener. The value is left raw: each listener parses it as the id it expects.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from bot.errors import BadInput

USER_ID = re.compile(r"[UW][A-Z0-9]{2,}")


@dataclass(frozen=True)
class Click:
    user: str
    response_url: str
    value: object
    trigger_id: str | None


def read_click(body: dict[str, Any]) -> Click:
    user = body.get("user")
    user_id = user.get("id") if isinstance(user, dict) else None
    if not isinstance(user_id, str) or USER_ID.fullmatch(user_id) is None:
        raise BadInput("this click does not say who clicked")
    response_url = body.get("response_url")
    if not isinstance(response_url, str) or not response_url.startswith(("https://", "http://")):
        raise BadInput("this click does not say where to answer")
    actions = body.get("actions")
    action = actions[0] if isinstance(actions, list) and actions and isinstance(actions[0], dict) else {}
    trigger_id = body.get("trigger_id")
    return Click(user_id, response_url, action.get("value"), trigger_id if isinstance(trigger_id, str) else None)
