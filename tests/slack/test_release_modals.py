"""Reading the release forms back: every value a submission can carry is checked against §2's limits,
and anything out of range becomes the error Slack shows beside its field."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.commands.deploy import DeployRequest
from bot.commands.rollback import RollbackRequest
from bot.config.loader import parse_config
from bot.slack.release_modals import (
    OverrideForm,
    deploy_modal,
    override_modal,
    read_deploy_modal,
    read_override_modal,
    read_rollback_modal,
    rollback_modal,
)


def selected(value: str) -> dict[str, Any]:
    return {"type": "static_select", "selected_option": {"value": value}}


def typed(value: str) -> dict[str, Any]:
    return {"type": "plain_text_input", "value": value}


def deploy_form(target: str = "api/staging", ref: str | None = None, reason: str | None = None,
                strategy: str | None = None) -> dict[str, Any]:
    values: dict[str, Any] = {"target": {"target": selected(target)}}
    if ref is not None:
        values["ref"] = {"ref": typed(ref)}
    if reason is not None:
        values["reason"] = {"reason": typed(reason)}
    if strategy is not None:
        values["strategy"] = {"strategy": selected(strategy)}
    return values


def test_the_text_inputs_carry_their_limits_so_slack_stops_typing_there() -> None:
    config = parse_config("services: {}\n")
    elements = {b["block_id"]: b["element"] for b in deploy_modal(config)["blocks"]}
    assert (elements["ref"]["max_length"], elements["reason"]["max_length"]) == (255, 500)
    overriding = {b.get("block_id"): b.get("element") for b in override_modal(7, ["not_locked"])["blocks"]}
    assert overriding["reason"]["max_length"] == 500
    rolling = {b.get("block_id"): b.get("element") for b in rollback_modal([("api", "api/production/3")])["blocks"]}
    assert rolling["reason"]["max_length"] == 500


def test_a_deploy_form_within_the_limits_is_a_request() -> None:
    assert read_deploy_modal(deploy_form(ref=" v1.2 ", reason=" " + "x" * 500 + " ", strategy="canary")) == \
        DeployRequest("api", "staging", "v1.2", "canary", "x" * 500)


@pytest.mark.parametrize(("form", "errors"), [
    (deploy_form(ref="é" * 128), {"ref": "A ref is at most 255 bytes; this one is 256."}),
    (deploy_form(ref="v1 v2"), {"ref": "'v1 v2' is not a ref: it contains a space or an invisible character."}),
    (deploy_form(reason="x" * 501), {"reason": "A reason is at most 500 characters; this one is 501."}),
    (deploy_form(strategy="yolo"), {"strategy": "Choose one of rolling, canary, blue-green."}),
    (deploy_form(target="a" * 65 + "/staging"), {"target": "Service names are at most 64 characters; "
                                                           f"'{'a' * 40}…' is 65."}),
])
def test_a_deploy_form_over_a_limit_is_a_field_error(form: dict[str, Any], errors: dict[str, str]) -> None:
    assert read_deploy_modal(form) == errors


def test_a_rollback_form_names_a_release_in_range() -> None:
    form = {"target": {"target": selected("api/production/3")}, "reason": {"reason": typed("errors up")}}
    assert read_rollback_modal(form) == RollbackRequest("api", "production", to_release=3, reason="errors up")


@pytest.mark.parametrize(("target", "reason", "field"), [
    ("api/production/abc", "errors up", "target"), ("api/production/100000000000000000000000", "errors up", "target"),
    ("api/production/0", "errors up", "target"), ("api/production/3", "x" * 501, "reason"),
    ("api/production/3", "  ", "reason"),
])
def test_a_rollback_form_out_of_range_is_a_field_error(target: str, reason: str, field: str) -> None:
    errors = read_rollback_modal({"target": {"target": selected(target)}, "reason": {"reason": typed(reason)}})
    assert isinstance(errors, dict) and list(errors) == [field]


def override_view(reason: str, *, metadata: str = '{"release_id": 7}', gates: tuple[str, ...] = ("not_locked",)
                  ) -> dict[str, Any]:
    return {"private_metadata": metadata, "state": {"values": {
        "gates": {"gates": {"type": "checkboxes", "selected_options": [{"value": g} for g in gates]}},
        "reason": {"reason": typed(reason)}}}}


def test_an_override_form_within_the_limits() -> None:
    assert read_override_modal(override_view("x" * 500)) == OverrideForm(7, ["not_locked"], "x" * 500)


@pytest.mark.parametrize(("view", "errors"), [
    (override_view("x" * 501), {"reason": "A reason is at most 500 characters; this one is 501."}),
    (override_view("too short"), {"reason": "Say why (at least 10 characters); the reason is recorded."}),
    (override_view("a good reason", gates=("g" * 65,)), {"gates": "Choose gates from the list."}),
    (override_view("a good reason", metadata=json.dumps({"release_id": 10**23})),
     {"gates": "This form does not name a release; open it again from the release thread."}),
    (override_view("a good reason", metadata="not json"),
     {"gates": "This form does not name a release; open it again from the release thread."}),
])
def test_an_override_form_out_of_range_is_a_field_error(view: dict[str, Any], errors: dict[str, str]) -> None:
    assert read_override_modal(view) == errors
