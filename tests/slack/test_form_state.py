"""A submitted form in Slack's shape, or field errors: found by tests/fuzz, where a submission whose
values were not in that shape (a number as a ref, a block that is a string, no `user`) was an
AttributeError or KeyError in the listener instead of an answer."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.slack.form_state import NOT_FROM_THE_FORM, refused_form, shape_errors, submitter
from tests.contracts.slack_contract import SlackContract
from tests.release.scenario import SANDBOX, release_config, scenario

TARGET = {"target": {"type": "static_select", "selected_option": {"value": "api/staging"}}}


def view(values: Any) -> dict[str, Any]:
    return {"state": {"values": values}}


def test_slacks_shape_passes() -> None:
    assert shape_errors(view({"target": TARGET, "ref": {"ref": {"type": "plain_text_input", "value": None}},
                              "gates": {"gates": {"selected_options": [{"value": "ci_green"}]}}}),
                        main_block="target") is None
    assert shape_errors({}, main_block="target") is None  # no state: every field empty, the readers say so


@pytest.mark.parametrize(("state", "errors"), [
    (view({"target": TARGET, "ref": {"ref": {"value": 5}}}), {"ref": NOT_FROM_THE_FORM}),
    (view({"target": "api/staging"}), {"target": NOT_FROM_THE_FORM}),
    (view({"target": {"target": {"selected_option": {"value": ["api", "staging"]}}}}), {"target": NOT_FROM_THE_FORM}),
    (view({"gates": {"gates": {"selected_options": [{"text": "no value"}]}}}), {"gates": NOT_FROM_THE_FORM}),
    (view({"gates": {"gates": {"selected_options": "ci_green"}}}), {"gates": NOT_FROM_THE_FORM}),
    (view(["target"]), {"target": NOT_FROM_THE_FORM}),
    (view({"reason": {"reason": {"value": "db\x00down"}}}), {"reason": NOT_FROM_THE_FORM}),  # PostgreSQL refuses NUL
    ({"state": "values"}, {"target": NOT_FROM_THE_FORM}),
])
def test_anything_else_is_a_field_error(state: dict[str, Any], errors: dict[str, str]) -> None:
    assert shape_errors(state, main_block="target") == errors


@pytest.mark.parametrize("user", [None, "U0ALICE", {"id": None}, {"id": "alice"}, {"name": "alice"}, 7])
def test_a_submission_that_names_nobody_is_refused(user: object) -> None:
    assert submitter({"user": user}) is None
    assert refused_form(view({"target": TARGET}), None, main_block="target") == {
        "target": "This form does not say who submitted it; close it and open it again."}


async def test_a_deploy_form_with_a_number_as_its_ref_is_a_field_error(tmp_path: Path,
                                                                       slack_contract: SlackContract) -> None:
    async with scenario(tmp_path, slack_contract, config=release_config(SANDBOX),
                        start=datetime(2026, 11, 18, 10, tzinfo=UTC)) as s:
        await s.command("U0ALICE", "")
        [opened] = [e.view for e in s.stack.workspace.events if e.kind == "view_open"]
        assert opened is not None
        refused = await s.stack.slack.view_submission("U0ALICE", opened["id"], {
            "target": TARGET, "ref": {"ref": {"type": "plain_text_input", "value": 5}}})  # type: ignore[dict-item]
        await s.stack.settle()
        assert refused.json() == {"response_action": "errors", "errors": {"ref": NOT_FROM_THE_FORM}}
        assert await s.releases() == []
