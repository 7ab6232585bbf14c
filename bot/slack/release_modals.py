"""Modals of the release flow: the `/deploy` form (§2) and the Override form (§3).

Builders turn configuration and release data into view dicts; `read_*` functions turn a
view_submission's state back into typed values, with the errors Slack shows beside a field.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from bot.commands import limits
from bot.commands.deploy import STRATEGIES, DeployRequest
from bot.commands.rollback import RollbackRequest
from bot.config.models import SwitchmanConfig
from bot.errors import BadInput
from bot.slack.ids import CallbackId

TARGET, REF, REASON, STRATEGY, GATES = "target", "ref", "reason", "strategy", "gates"
MAX_OPTIONS = 100
MAX_GATE_CHARS = 64  # a gate's name as stored with its result


def _text(value: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": value[:75]}


def _option(label: str, value: str) -> dict[str, Any]:
    return {"text": _text(label), "value": value[:150]}


def deploy_modal(config: SwitchmanConfig) -> dict[str, Any]:
    targets = [_option(f"{s} → {e}", f"{s}/{e}") for s, svc in sorted(config.services.items())
               for e in svc.environments][:MAX_OPTIONS]
    return {
        "type": "modal", "callback_id": CallbackId.DEPLOY_MODAL.value,
        "title": _text("Deploy"), "submit": _text("Deploy"), "close": _text("Cancel"),
        "blocks": [
            {"type": "input", "block_id": TARGET, "label": _text("Service and environment"),
             "element": {"type": "static_select", "action_id": TARGET, "options": targets,
                         "placeholder": _text("Choose where to deploy")}},
            {"type": "input", "block_id": REF, "optional": True, "label": _text("Ref (tag, branch or commit)"),
             "hint": _text("Empty: the environment's configured branch head"),
             "element": {"type": "plain_text_input", "action_id": REF, "max_length": limits.MAX_REF_BYTES}},
            {"type": "input", "block_id": STRATEGY, "optional": True, "label": _text("Strategy"),
             "element": {"type": "static_select", "action_id": STRATEGY,
                         "options": [_option(s, s) for s in STRATEGIES],
                         "placeholder": _text("The environment's default")}},
            {"type": "input", "block_id": REASON, "optional": True, "label": _text("Reason"),
             "element": _reason_input()},
        ],
    }


def read_deploy_modal(values: dict[str, Any]) -> DeployRequest | dict[str, str]:
    """The request, or {block_id: error} for Slack to show beside the fields."""
    target = _selected(values, TARGET)
    if not target or "/" not in target:
        return {TARGET: "Choose a service and environment."}
    service, environment = target.split("/", 1)
    try:
        limits.check_name(service, what="service", usage=None)
        limits.check_name(environment, what="environment", usage=None)
    except BadInput as exc:
        return {TARGET: _sentence(exc)}
    ref = (_value(values, REF) or "").strip() or None
    if ref is not None:
        try:
            limits.check_ref(ref, usage=None)
        except BadInput as exc:
            return {REF: _sentence(exc)}
    strategy = _selected(values, STRATEGY)
    if strategy is not None and strategy not in STRATEGIES:
        return {STRATEGY: f"Choose one of {', '.join(STRATEGIES)}."}
    try:
        reason = limits.check_reason(_value(values, REASON), usage=None)
    except BadInput as exc:
        return {REASON: _sentence(exc)}
    return DeployRequest(service, environment, ref, strategy, reason)


@dataclass(frozen=True)
class OverrideForm:
    release_id: int
    gates: list[str]
    reason: str


def override_modal(release_id: int, gates: list[str]) -> dict[str, Any]:
    options = [_option(g, g) for g in gates]
    return {
        "type": "modal", "callback_id": CallbackId.OVERRIDE_MODAL.value,
        "private_metadata": json.dumps({"release_id": release_id}),
        "title": _text("Override gates"), "submit": _text("Override"), "close": _text("Cancel"),
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text":
                f"Let failing gates of release #{release_id} through. This is recorded in the ledger as "
                "*special handling* with your name and reason."}},
            {"type": "input", "block_id": GATES, "label": _text("Gates to override"),
             "element": {"type": "checkboxes", "action_id": GATES, "options": options[:10],
                         "initial_options": options[:10]}},
            {"type": "input", "block_id": REASON, "label": _text("Reason (required)"),
             "element": {**_reason_input(), "min_length": 10}},
        ],
    }


def read_override_modal(view: dict[str, Any]) -> OverrideForm | dict[str, str]:
    values = view.get("state", {}).get("values", {})
    gates = [o["value"] for o in (values.get(GATES, {}).get(GATES, {}).get("selected_options") or [])]
    if not gates:
        return {GATES: "Choose at least one gate."}
    if not all(isinstance(g, str) and 0 < len(g) <= MAX_GATE_CHARS for g in gates):
        return {GATES: "Choose gates from the list."}
    try:
        reason = limits.check_reason(_value(values, REASON), usage=None) or ""
    except BadInput as exc:
        return {REASON: _sentence(exc)}
    if len(reason) < 10:
        return {REASON: "Say why (at least 10 characters); the reason is recorded."}
    release_id = _metadata_release_id(view.get("private_metadata"))
    if release_id is None:
        return {GATES: "This form does not name a release; open it again from the release thread."}
    return OverrideForm(release_id, gates, reason)


def _metadata_release_id(metadata: object) -> int | None:
    try:
        found = json.loads(metadata)["release_id"] if isinstance(metadata, str) else None
    except (ValueError, TypeError, KeyError):
        return None
    return found if type(found) is int and 1 <= found <= limits.MAX_ID else None


def _reason_input() -> dict[str, Any]:
    return {"type": "plain_text_input", "action_id": REASON, "multiline": True, "max_length": limits.MAX_REASON_CHARS}


def _sentence(error: BadInput) -> str:
    """A BadInput's message as a field error: capitalised, full stop."""
    text = error.message
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


def _value(values: dict[str, Any], block: str) -> str | None:
    value: str | None = values.get(block, {}).get(block, {}).get("value")
    return value


def _selected(values: dict[str, Any], block: str) -> str | None:
    option = values.get(block, {}).get(block, {}).get("selected_option")
    return option.get("value") if option else None


def rollback_modal(choices: list[tuple[str, str]]) -> dict[str, Any]:
    """`choices`: (label, "service/environment/release_id") of recent verified releases to roll back to."""
    options = [_option(label, value) for label, value in choices][:MAX_OPTIONS]
    target: dict[str, Any] = {"type": "input", "block_id": TARGET, "label": _text("Roll back to"),
                              "element": {"type": "static_select", "action_id": TARGET, "options": options,
                                          "placeholder": _text("A release that passed verification")}}
    blocks: list[dict[str, Any]] = [target] if options else [
        {"type": "section", "text": {"type": "mrkdwn", "text": "No release has passed verification yet, so there "
                                                               "is nothing to roll back to."}}]
    view: dict[str, Any] = {"type": "modal", "callback_id": CallbackId.ROLLBACK_MODAL.value,
                            "title": _text("Roll back"), "close": _text("Cancel"), "blocks": blocks}
    if options:
        view["submit"] = _text("Roll back")
        blocks.append({"type": "input", "block_id": REASON, "label": _text("Reason"), "element": _reason_input()})
    return view


def read_rollback_modal(values: dict[str, Any]) -> RollbackRequest | dict[str, str]:
    chosen = _selected(values, TARGET)
    if not chosen or chosen.count("/") != 2:
        return {TARGET: "Choose the release to roll back to."}
    service, environment, raw_id = chosen.split("/")
    try:
        limits.check_name(service, what="service", usage=None)
        limits.check_name(environment, what="environment", usage=None)
        release_id = limits.parse_id(raw_id, what="release", usage=None)
    except BadInput:
        return {TARGET: "Choose the release to roll back to from the list."}
    try:
        reason = limits.check_reason(_value(values, REASON), usage=None)
    except BadInput as exc:
        return {REASON: _sentence(exc)}
    if not reason:
        return {REASON: "Say why; the reason is recorded with the rollback."}
    return RollbackRequest(service, environment, to_release=release_id, reason=reason)
