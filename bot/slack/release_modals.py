"""Modals of the release flow: the `/deploy` form (§2) and the Override form (§3).

Builders turn configuration and release data into view dicts; `read_*` functions turn a
view_submission's state back into typed values, with the errors Slack shows beside a field.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from bot.commands.deploy import STRATEGIES, DeployRequest
from bot.commands.rollback import RollbackRequest
from bot.config.models import SwitchmanConfig
from bot.slack.ids import CallbackId

TARGET, REF, REASON, STRATEGY, GATES = "target", "ref", "reason", "strategy", "gates"
MAX_OPTIONS = 100


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
             "element": {"type": "plain_text_input", "action_id": REF}},
            {"type": "input", "block_id": STRATEGY, "optional": True, "label": _text("Strategy"),
             "element": {"type": "static_select", "action_id": STRATEGY,
                         "options": [_option(s, s) for s in STRATEGIES],
                         "placeholder": _text("The environment's default")}},
            {"type": "input", "block_id": REASON, "optional": True, "label": _text("Reason"),
             "element": {"type": "plain_text_input", "action_id": REASON, "multiline": True}},
        ],
    }


def read_deploy_modal(values: dict[str, Any]) -> DeployRequest | dict[str, str]:
    """The request, or {block_id: error} for Slack to show beside the fields."""
    target = _selected(values, TARGET)
    if not target or "/" not in target:
        return {TARGET: "Choose a service and environment."}
    service, environment = target.split("/", 1)
    ref = (_value(values, REF) or "").strip() or None
    if ref is not None and (" " in ref or len(ref) > 255):
        return {REF: "A ref is one word: a tag, branch or commit SHA."}
    return DeployRequest(service, environment, ref, _selected(values, STRATEGY), (_value(values, REASON) or None))


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
             "element": {"type": "plain_text_input", "action_id": REASON, "multiline": True, "min_length": 10}},
        ],
    }


def read_override_modal(view: dict[str, Any]) -> OverrideForm | dict[str, str]:
    values = view.get("state", {}).get("values", {})
    meta = json.loads(view.get("private_metadata") or "{}")
    gates = [o["value"] for o in (values.get(GATES, {}).get(GATES, {}).get("selected_options") or [])]
    reason = (_value(values, REASON) or "").strip()
    if not gates:
        return {GATES: "Choose at least one gate."}
    if len(reason) < 10:
        return {REASON: "Say why (at least 10 characters); the reason is recorded."}
    return OverrideForm(int(meta.get("release_id", 0)), gates, reason)


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
        blocks.append({"type": "input", "block_id": REASON, "label": _text("Reason"),
                       "element": {"type": "plain_text_input", "action_id": REASON, "multiline": True}})
    return view


def read_rollback_modal(values: dict[str, Any]) -> RollbackRequest | dict[str, str]:
    chosen = _selected(values, TARGET)
    if not chosen or chosen.count("/") != 2:
        return {TARGET: "Choose the release to roll back to."}
    service, environment, release_id = chosen.split("/")
    reason = (_value(values, REASON) or "").strip()
    if not reason:
        return {REASON: "Say why; the reason is recorded with the rollback."}
    return RollbackRequest(service, environment, to_release=int(release_id), reason=reason)
