"""A submitted form checked for the shape Slack gives it, before any reader looks inside.

Slack sends `view.state.values` as {block_id: {action_id: element state}}, where a text input's
`value` is a string (or null when empty), a select's `selected_option` an object with a string
`value`, and checkboxes' `selected_options` a list of such objects; and it says who submitted.
A submission that differs did not come from a form Switchman drew: it gets a field error, and the
readers in `release_modals` only ever see the documented shape.
"""

from __future__ import annotations

from typing import Any

from bot.slack.clicks import USER_ID

NOT_FROM_THE_FORM = "This is not what the form sends; close it and open it again."


def submitter(body: dict[str, Any]) -> str | None:
    """The submitting user's id, or None when the payload does not name one."""
    user = body.get("user")
    user_id = user.get("id") if isinstance(user, dict) else None
    return user_id if isinstance(user_id, str) and USER_ID.fullmatch(user_id) else None


def refused_form(view: Any, user: str | None, *, main_block: str) -> dict[str, str] | None:
    """The field errors of a submission that is not in Slack's shape or names no submitter, else None."""
    if user is None:
        return {main_block: "This form does not say who submitted it; close it and open it again."}
    if not isinstance(view, dict) or not isinstance(view.get("id"), str):  # Slack names every view it shows
        return {main_block: NOT_FROM_THE_FORM}
    return shape_errors(view, main_block=main_block)


def shape_errors(view: Any, *, main_block: str) -> dict[str, str] | None:
    """{block_id: error} for each block whose state is not in Slack's shape (None when all are);
    `main_block` carries the error when the state as a whole is malformed."""
    state = view.get("state", {}) if isinstance(view, dict) else None
    values = state.get("values", {}) if isinstance(state, dict) else None
    if not isinstance(values, dict):
        return {main_block: NOT_FROM_THE_FORM}
    errors = {block_id: NOT_FROM_THE_FORM for block_id, block in values.items() if not _block_is_well_formed(block)}
    return errors or None


def _block_is_well_formed(block: object) -> bool:
    return isinstance(block, dict) and all(isinstance(e, dict) and _element_is_well_formed(e) for e in block.values())


def _element_is_well_formed(element: dict[str, Any]) -> bool:
    value, option, options = element.get("value"), element.get("selected_option"), element.get("selected_options")
    return (value is None or _is_text(value)) and (option is None or _is_option(option)) and (
        options is None or (isinstance(options, list) and all(_is_option(o) for o in options)))


def _is_option(option: object) -> bool:
    return isinstance(option, dict) and _is_text(option.get("value"))


def _is_text(value: object) -> bool:
    """A string storage can hold: PostgreSQL's text refuses NUL, and no form of ours asks for one."""
    return isinstance(value, str) and "\x00" not in value
