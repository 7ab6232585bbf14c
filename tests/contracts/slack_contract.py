"""The Slack Web API contract the test suite's fake Slack enforces on every call.

Owns: reading the published contract (``../shared/contracts/slack``: the 13-method subset, its
addendum (conversations.history / replies / join, users.lookupByEmail, files v2 upload, message
metadata), the full 2020 OpenAPI spec and the java-slack-sdk response samples) and judging, for one
call, whether the *request* the bot sent and the *response* the fake is about to send match it. Block Kit limits live
in :mod:`slack_blocks_limits`. Where today's Slack differs from the 2020 spec, the differences are
explicit, commented allow-lists below; nothing else is relaxed.
"""

from __future__ import annotations

import copy
import json
import pathlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

import jsonschema

from . import slack_blocks_limits as blocks

# --- documented additions the 2020 spec lacks (requests) -----------------------------------------
# Arguments on today's method pages (docs.slack.dev/reference/methods/<method>; cross-checked with
# slack-ruby/slack-api-ref, a scrape of those pages). Kinds: string, boolean, json, array.
# Deliberately absent: unfurl_links/unfurl_media on chat.update and chat.postEphemeral (not documented
# there; chat.postMessage has them in the spec already). users.info include_locale and
# chat.getPermalink message_ts need no entry: the spec already declares them.
EXTRA_PARAMS: dict[str, dict[str, str]] = {
    "chat.postMessage": {"metadata": "json", "markdown_text": "string",
                         "current_draft_last_updated_ts": "string"},
    "chat.update": {"metadata": "json", "markdown_text": "string", "reply_broadcast": "boolean",
                    "file_ids": "array"},
    "chat.postEphemeral": {"metadata": "json", "markdown_text": "string"},
    "conversations.open": {"prevent_creation": "boolean"},
    "views.open": {"interactivity_pointer": "string"},
    "views.publish": {"interactivity_pointer": "string"},
    "usergroups.users.list": {"team_id": "string"},
    "usergroups.users.update": {"team_id": "string", "additional_channels": "array", "is_shared": "boolean"},
}
# Accepted by every method today: `team_id` names the workspace when an org-wide token is used
# (docs.slack.dev method pages list it as "required if org token is used"); slack_sdk adds it to
# every call of a client created with team_id, as Bolt's per-request client is.
GLOBAL_PARAMS: dict[str, str] = {"team_id": "string"}
# The spec types these 'string' (URL-encoded JSON for form posts); JSON bodies, which slack_sdk sends
# for chat.* and views.*, carry the array / object itself. Both are accepted, and decoded.
JSON_PARAMS = frozenset({"blocks", "attachments", "view", "metadata"})
# Spec says 'string' where the docs say boolean (as_user, link_names) or array (users).
KIND_OVERRIDES: dict[tuple[str, str], str] = {
    ("chat.postMessage", "as_user"): "boolean", ("chat.update", "as_user"): "boolean",
    ("chat.update", "link_names"): "boolean", ("usergroups.users.update", "users"): "array",
}
# Requirements the docs state and the spec does not encode: "one of these is required".
REQUIRED_ONE_OF: dict[str, tuple[str, ...]] = {
    "chat.postMessage": ("text", "blocks", "attachments", "markdown_text"),
    "chat.postEphemeral": ("text", "blocks", "attachments", "markdown_text"),
    "conversations.open": ("channel", "users"),
    "views.open": ("trigger_id", "interactivity_pointer"),  # so trigger_id alone is no longer required
    "views.update": ("view_id", "external_id"),
}
EXTRA_REQUIRED = {"users.info": {"user"}, "views.update": {"view"}}  # both 'Required' on the docs pages
NOT_REQUIRED = {"views.open": {"trigger_id"}}
# The spec marks `token` optional on 49 methods (e.g. conversations.open) although every docs page
# lists it as Required and those methods' error enums include not_authed: we require it everywhere.
APP_TOKEN_METHODS = frozenset({"apps.connections.open", "apps.event.authorizations.list"})
MESSAGE_METHODS = frozenset({"chat.postMessage", "chat.update", "chat.postEphemeral", "chat.scheduleMessage"})
VIEW_TYPE_FOR = {"views.open": "modal", "views.push": "modal", "views.publish": "home"}
BOOL_STRINGS = frozenset({"true", "false", "1", "0"})  # slack_sdk form-encodes booleans as "1"/"0"

# --- documented additions the 2020 spec lacks (responses) ----------------------------------------
# Any response may carry `warning` and `response_metadata` {warnings, messages, next_cursor}
# (api.slack.com/changelog/2016-09-28-response-metadata-is-on-the-way; slack_limits.md: a truncated
# chat.postMessage answers ok with response_metadata.warnings ["message_truncated"]).
RESPONSE_METADATA = {"type": "object", "additionalProperties": False, "properties": {
    "warnings": {"type": "array", "items": {"type": "string"}},
    "messages": {"type": "array", "items": {"type": "string"}},
    "next_cursor": {"type": "string"}}}
# Error bodies: missing_scope answers carry `needed` / `provided` (docs; java-slack-sdk samples).
ERROR_FIELDS = {"needed": {"type": "string"}, "provided": {"type": "string"}}
# Error codes every docs.slack.dev method page lists ("common errors"), plus method-specific ones
# the spec's 2020 enums miss. Only the enums are widened; methods without an enum stay open.
COMMON_ERRORS = frozenset({
    "access_denied", "accesslimited", "account_inactive", "deprecated_endpoint", "ekm_access_denied",
    "enterprise_is_restricted", "fatal_error", "internal_error", "invalid_arg_name", "invalid_array_arg",
    "invalid_auth", "invalid_charset", "invalid_form_data", "invalid_json", "invalid_post_type", "is_bot",
    "json_not_object", "method_deprecated", "missing_post_type", "missing_scope", "no_permission",
    "not_allowed_token_type", "not_authed", "org_login_required", "ratelimited", "request_timeout",
    "service_unavailable", "team_access_not_granted", "team_added_to_org", "token_expired", "token_revoked",
    "two_factor_setup_required", "unknown_method", "upgrade_required",
})
_BLOCK_ERRORS = frozenset({
    "invalid_blocks", "invalid_blocks_format", "invalid_attachments", "markdown_text_conflict",
    "message_limit_exceeded",
})
_METADATA_ERRORS = frozenset({
    "invalid_metadata_format", "invalid_metadata_schema", "metadata_too_large",
    "metadata_must_be_sent_from_app",
})
METHOD_ERRORS: dict[str, frozenset[str]] = {
    "chat.postMessage": _BLOCK_ERRORS | _METADATA_ERRORS | {
        "msg_blocks_too_long", "restricted_action", "cannot_reply_to_message", "as_user_not_supported",
        "team_not_found", "messages_tab_disabled"},
    # not_in_channel is not on chat.update's docs page (which lists is_inactive for archived channels);
    # the fake answers it when the bot was removed from the channel, as chat.postMessage does.
    "chat.update": _BLOCK_ERRORS | _METADATA_ERRORS | {
        "block_mismatch", "update_failed", "cant_broadcast_message", "as_user_not_supported",
        "team_not_found", "is_inactive", "not_in_channel"},
    "chat.postEphemeral": _BLOCK_ERRORS | {
        "not_in_channel", "cannot_reply_to_message", "messages_tab_disabled"},
    "users.info": frozenset({"too_many_users"}),
    "usergroups.users.list": frozenset({"no_such_subteam", "invalid_cursor", "plan_upgrade_required"}),
    "usergroups.users.update": frozenset({
        "invalid_users", "no_users_provided", "failed_for_some_users", "missing_argument",
        "subteam_max_users_exceeded", "plan_upgrade_required"}),
    "reactions.add": frozenset({
        "channel_not_found", "is_archived", "not_reactable", "thread_locked", "no_access",
        "external_channel_migrating"}),
}
# Success fields today's Slack returns that the 2020 200-schemas forbid (additionalProperties false).
# auth.test: enterprise_id (docs page: "you'll also find their enterprise_id here"), app_id / app_name /
# expires_in (@slack/web-api AuthTestResponse on docs.slack.dev; observed in java-slack-sdk samples).
SUCCESS_FIELDS: dict[str, dict[str, Any]] = {
    "auth.test": {"enterprise_id": {"$ref": "#/definitions/defs_enterprise_id"},
                  "app_id": {"$ref": "#/definitions/defs_app_id"}, "app_name": {"type": "string"},
                  "expires_in": {"type": "integer"}},
}
# objs_message: `app_id` on every bot message and `metadata` when the message has metadata (both in
# the java-slack-sdk chat.postMessage / chat.update samples; message-metadata docs).
MESSAGE_FIELDS = {"app_id": {"$ref": "#/definitions/defs_app_id"},
                  "metadata": {"type": "object", "required": ["event_type", "event_payload"],
                               "properties": {"event_type": {"type": "string"},
                                              "event_payload": {"type": "object"}}}}
# objs_subteam requires three fields that the spec's own usergroups.users.update example (the docs
# page's example response) does not have, so the contract contradicts itself: make them optional.
SUBTEAM_OPTIONAL = frozenset({"is_subteam", "auto_provision", "enterprise_subteam_id"})
SDK_SAMPLE_NOISE = frozenset({"error", "needed", "provided", "warning", "errors", "deprecated_argument"})
# conversations.history's 2020 schema wants at least one message; an empty channel (or a window
# with nothing in it) answers `messages: []` (docs.slack.dev conversations.history, "has_more": false).
EMPTY_MESSAGES_OK = frozenset({"conversations.history"})
# conversations.history's 200 schema requires channel_actions_ts / channel_actions_count, which its own
# example response (the docs page's) does not have: the contract contradicts itself, so make them optional.
OPTIONAL_SUCCESS_FIELDS = {"conversations.history": frozenset({"channel_actions_ts", "channel_actions_count"})}


@dataclass(frozen=True)
class _Method:
    name: str
    params: dict[str, str]  # argument name -> kind (string/boolean/integer/number/json/array)
    required: frozenset[str]
    token_param: str | None  # 'token' or 'Authorization' (apps.connections.open), None if no auth
    responses: dict[str, Any]
    definitions: dict[str, Any]
    errors: frozenset[str] = frozenset()  # documented error codes beyond the schema's enum
    message_keys: frozenset[str] = frozenset()  # message fields observed in the SDK samples (addendum)


def _kind(method: str, param: Mapping[str, Any]) -> str:
    name = param["name"]
    if (method, name) in KIND_OVERRIDES:
        return KIND_OVERRIDES[(method, name)]
    return "json" if name in JSON_PARAMS else str(param.get("type", "string"))


def _build_method(name: str, op: Mapping[str, Any], definitions: dict[str, Any]) -> _Method:
    params: dict[str, str] = {}
    required: set[str] = set()
    token_param = None
    for p in op.get("parameters", []):
        if p["name"] in ("token", "Authorization"):
            token_param = p["name"]
            continue
        params[p["name"]] = _kind(name, p)
        if p.get("required"):
            required.add(p["name"])
    params.update(GLOBAL_PARAMS)
    params.update(EXTRA_PARAMS.get(name, {}))
    required = (required | EXTRA_REQUIRED.get(name, set())) - NOT_REQUIRED.get(name, set())
    observed = op.get("observed_response_keys") or {}
    return _Method(name, params, frozenset(required), token_param, dict(op.get("responses", {})), definitions,
                   errors=frozenset(op.get("error_codes") or ()),
                   message_keys=frozenset(observed.get("message_keys") or ()))


def _extend_method(base: _Method, extension: Mapping[str, Any]) -> _Method:
    """An addendum entry that adds arguments and error codes to a method the subset describes."""
    params = dict(base.params)
    for p in extension.get("parameters", []):
        params.setdefault(p["name"], _kind(base.name, p))
    return replace(base, params=params, errors=base.errors | frozenset(extension.get("error_codes_added", [])))


@lru_cache(maxsize=4)
def _read_json(path: pathlib.Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _relaxed_definitions(definitions: Mapping[str, Any]) -> dict[str, Any]:
    defs = copy.deepcopy(dict(definitions))
    message = defs.get("objs_message")
    if message:
        message["properties"].update(copy.deepcopy(MESSAGE_FIELDS))
        # Legacy attachments have many documented fields (text, color, pretext, fields, ...); the
        # spec's own chat.postMessage example carries `text`, which its schema forbids.
        message["properties"]["attachments"]["items"]["additionalProperties"] = True
    subteam = defs.get("objs_subteam")
    if subteam:
        subteam["required"] = [r for r in subteam["required"] if r not in SUBTEAM_OPTIONAL]
    return defs


def _relaxed_schema(spec: _Method, status: str, original: Mapping[str, Any]) -> dict[str, Any]:
    method = spec.name
    schema: dict[str, Any] = copy.deepcopy(dict(original))
    props = schema.setdefault("properties", {})
    props.setdefault("warning", {"type": "string"})
    props.setdefault("response_metadata", RESPONSE_METADATA)
    if status == "200":
        props.update(copy.deepcopy(SUCCESS_FIELDS.get(method, {})))
        if method == "chat.update" and "message" in props:
            # Spec types chat.update's message.blocks as an object; blocks are an array everywhere.
            props["message"]["properties"]["blocks"] = {"$ref": "#/definitions/blocks"}
        optional = OPTIONAL_SUCCESS_FIELDS.get(method)
        if optional:
            schema["required"] = [r for r in schema["required"] if r not in optional]
        if method in EMPTY_MESSAGES_OK and "messages" in props:
            props["messages"].pop("minItems", None)
        if method == "conversations.replies" and "messages" in props:
            props["messages"] = _thread_messages(props["messages"], spec)
    else:
        props.update(ERROR_FIELDS)
        error = props.get("error", {})
        if "enum" in error:
            allowed = COMMON_ERRORS | METHOD_ERRORS.get(method, frozenset()) | spec.errors
            error["enum"] = sorted(set(error["enum"]) | allowed)
    return schema


def _thread_messages(messages: Mapping[str, Any], spec: _Method) -> dict[str, Any]:
    """conversations.replies' messages: the thread parent first, then replies.

    The 2020 spec writes each message as `items: [parent, reply]`, its stand-in for oneOf (CHANGELOG,
    July 2019); read literally in draft 4 that checks no message at all (a message is not an array).
    Read as meant: the parent, then any number of replies. Both shapes forbid fields the SDK samples
    show on today's messages (blocks, bot_id, app_id, metadata, ...); those observed keys are allowed,
    typed as objs_message types them. A ts not in a thread answers that one message, without thread fields.
    """
    parent, reply = (copy.deepcopy(s) for s in messages["items"]["items"])
    known = spec.definitions["objs_message"]["properties"]
    for shape in (parent, reply):
        for key in sorted(spec.message_keys & set(known)):
            shape["properties"].setdefault(key, copy.deepcopy(known[key]))
    unthreaded = {"allOf": [{"$ref": "#/definitions/objs_message"}, {"not": {"required": ["thread_ts"]}}]}
    return {"type": "array", "items": [{"anyOf": [parent, unthreaded]}], "additionalItems": reply}


def _type_ok(value: Any, kind: str) -> bool:
    if kind == "boolean":
        return isinstance(value, bool) or value in BOOL_STRINGS
    if kind == "integer":
        return (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, str) and re.fullmatch(r"-?\d+", value) is not None)
    if kind == "number":
        return (isinstance(value, int | float) and not isinstance(value, bool)) or (
            isinstance(value, str) and re.fullmatch(r"-?\d+(\.\d+)?", value) is not None)
    if kind == "json":
        return isinstance(value, str | list | dict)
    if kind == "array":
        return isinstance(value, str) or (isinstance(value, list) and all(isinstance(v, str) for v in value))
    return isinstance(value, str)


class SlackContract:
    """Checks requests to, and responses from, a fake Slack Web API against the published contract."""

    def __init__(self, contracts_dir: pathlib.Path, subset: Mapping[str, Any], spec: Mapping[str, Any],
                 addendum: Mapping[str, Any] | None = None):
        self.contracts_dir = contracts_dir
        subset_defs = _relaxed_definitions(subset["definitions"])
        spec_defs = _relaxed_definitions(spec["definitions"])
        self._methods: dict[str, _Method] = {}
        for path, ops in spec["paths"].items():
            name = path.lstrip("/")
            op = next(iter(ops.values()))
            self._methods[name] = _build_method(name, op, spec_defs)
        extensions: dict[str, Mapping[str, Any]] = {}
        self._param_validators: dict[str, jsonschema.Draft4Validator] = {}
        if addendum is not None:
            addendum_defs = _relaxed_definitions(addendum["definitions"])
            for name, op in addendum["methods"].items():  # the addendum wins over the 2020 spec
                if "x-extends" in op:
                    extensions[name] = op
                else:
                    self._methods[name] = _build_method(name, op, addendum_defs)
            self._param_validators = _param_validators(extensions.values(), addendum_defs)
        for name, op in subset["methods"].items():  # the subset wins where both describe a method
            self._methods[name] = _build_method(name, op, subset_defs)
        for name, extension in extensions.items():  # ... and the addendum adds to its entries
            self._methods[name] = _extend_method(self._methods[name], extension)
        self._validators: dict[tuple[str, str], jsonschema.Draft4Validator] = {}

    @classmethod
    def load(cls, contracts_dir: pathlib.Path | None = None) -> SlackContract:
        """Read the contract; default directory is <project root>/../shared/contracts/slack."""
        if contracts_dir is None:
            project_root = pathlib.Path(__file__).resolve().parents[2]
            contracts_dir = project_root.parent / "shared" / "contracts" / "slack"
        contracts_dir = contracts_dir.resolve()
        subset = _read_json(contracts_dir / "slack_web_api_subset.json")
        spec = _read_json(contracts_dir / "slack_web_openapi_v2.json")
        addendum = _read_json(contracts_dir / "slack_web_api_addendum.json")
        return cls(contracts_dir, subset, spec, addendum)

    def known_methods(self) -> set[str]:
        return set(self._methods)

    # --- requests ---------------------------------------------------------------------------------
    def check_request(self, method: str, params: Mapping[str, Any], *, token: str | None) -> list[str]:
        """Problems with one call: `params` merged from query/form/JSON, `token` from the Bearer header."""
        spec = self._methods.get(method)
        if spec is None:
            return [f"{method}: unknown Slack Web API method (not in the contract subset or the full spec)"]
        problems = self._check_token(spec, params, token)
        decoded: dict[str, Any] = {}
        for name, value in params.items():
            if name == "token" and spec.token_param is not None:
                continue  # judged by _check_token
            problems += self._check_param(spec, name, value, decoded)
        for name in sorted(spec.required):
            if params.get(name) in (None, ""):
                problems.append(f"{method}: required parameter {name!r} is missing")
        one_of = REQUIRED_ONE_OF.get(method)
        if one_of and not any(params.get(n) not in (None, "", []) for n in one_of):
            problems.append(f"{method}: one of {', '.join(one_of)} is required")
        return problems + self._check_content(method, decoded)

    def _check_token(self, spec: _Method, params: Mapping[str, Any], token: str | None) -> list[str]:
        method = spec.name
        if spec.token_param is None:
            return []
        problems: list[str] = []
        if spec.token_param == "Authorization" and "token" in params:
            problems.append(f"{method}: send the token in the Authorization header, not as parameter 'token'")
        effective = token or (params.get("token") if spec.token_param == "token" else None)
        if not effective:
            return [*problems, f"{method}: missing token (send Authorization: Bearer <token>)"]
        if method in APP_TOKEN_METHODS and not str(effective).startswith("xapp-"):
            problems.append(f"{method}: token must be an app-level token (xapp-...)")
        elif method not in APP_TOKEN_METHODS and str(effective).startswith("xapp-"):
            problems.append(f"{method}: app-level token (xapp-...) not allowed here (not_allowed_token_type)")
        return problems

    def _check_param(self, spec: _Method, name: str, value: Any, decoded: dict[str, Any]) -> list[str]:
        method = spec.name
        kind = spec.params.get(name)
        if kind is None:
            return [f"{method}: parameter {name!r} is not an argument of {method}"]
        if value is None:
            return [f"{method}: parameter {name!r} is null"]
        if not _type_ok(value, kind):
            return [f"{method}: parameter {name!r} must be {kind}, got {value!r:.80}"]
        if kind == "json" and isinstance(value, str):
            try:
                value = json.loads(value)
            except json.JSONDecodeError as exc:
                return [f"{method}: parameter {name!r} is not valid JSON ({exc.msg})"]
        decoded[name] = value
        return []

    def _check_content(self, method: str, decoded: dict[str, Any]) -> list[str]:
        problems: list[str] = []
        if "metadata" in decoded and not isinstance(decoded["metadata"], Mapping):
            problems.append(f"{method}: parameter 'metadata' must be a JSON object")
        for name, validator in self._param_validators.items():
            if isinstance(decoded.get(name), Mapping):
                for error in sorted(validator.iter_errors(decoded[name]), key=lambda e: list(e.absolute_path)):
                    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
                    problems.append(f"{method}: parameter {name!r}{where}: {_describe(error)}")
        if method in MESSAGE_METHODS:
            problems += blocks.check_message(decoded, f"{method}: arguments")
        if "view" in decoded:
            view = decoded["view"]
            problems += blocks.check_view(view, f"{method}: view")
            wanted = VIEW_TYPE_FOR.get(method)
            if wanted and isinstance(view, Mapping) and view.get("type") not in (wanted, None):
                problems.append(f"{method}: view.type must be {wanted!r} for {method}")
        return problems

    def check_message_payload(self, payload: Mapping[str, Any]) -> list[str]:
        """A response_url body or slash-command ack message (Block Kit and text limits)."""
        return blocks.check_message_payload(payload, "response_url payload")

    def check_view(self, view: Mapping[str, Any]) -> list[str]:
        return blocks.check_view(view, "view")

    # --- responses --------------------------------------------------------------------------------
    def check_response(self, method: str, body: Mapping[str, Any]) -> list[str]:
        """Validate a body the fake is about to send against the 200 (ok) or default (error) schema."""
        if method not in self._methods:
            return [f"{method}: unknown Slack Web API method"]
        if not isinstance(body, Mapping) or not isinstance(body.get("ok"), bool):
            return [f"{method} response: must be a JSON object with boolean 'ok'"]
        status = "200" if body["ok"] else "default"
        validator = self._validator(method, status)
        if validator is None:
            return [f"{method} response: the contract has no {status} schema"]
        errors = sorted(validator.iter_errors(dict(body)), key=lambda e: list(e.absolute_path))
        return [f"{method} response ({status}): {_json_path(e)}: {_describe(e)}" for e in errors]

    def _validator(self, method: str, status: str) -> jsonschema.Draft4Validator | None:
        key = (method, status)
        if key not in self._validators:
            spec = self._methods[method]
            schema = spec.responses.get(status, {}).get("schema")
            if schema is None:
                return None
            root = _relaxed_schema(spec, status, schema)
            root["definitions"] = spec.definitions
            self._validators[key] = jsonschema.Draft4Validator(root)
        return self._validators[key]

    def example_response(self, method: str) -> dict[str, Any]:
        """A copy of the contract's 200 example, else the cleaned java-slack-sdk sample."""
        spec = self._methods.get(method)
        if spec is None:
            raise KeyError(f"unknown Slack Web API method {method!r}")
        example = spec.responses.get("200", {}).get("examples", {}).get("application/json")
        if example is not None:
            return copy.deepcopy(dict(example))
        sample_path = self.contracts_dir / "sdk-samples" / f"{method}.json"
        if not sample_path.exists():
            raise KeyError(f"no example response for {method!r} in the contract")
        sample = {k: v for k, v in _read_json(sample_path).items() if k not in SDK_SAMPLE_NOISE}
        return copy.deepcopy({**sample, "ok": True})


def _param_validators(extensions: Any, definitions: dict[str, Any]) -> dict[str, jsonschema.Draft4Validator]:
    """Schemas the addendum gives for arguments' content (message metadata): one object wherever the
    argument is accepted (chat.postMessage, chat.update, chat.postEphemeral, per the docs)."""
    validators: dict[str, jsonschema.Draft4Validator] = {}
    for extension in extensions:
        for p in extension.get("parameters", []):
            if "x-schema" in p:
                validators[p["name"]] = jsonschema.Draft4Validator({**p["x-schema"], "definitions": definitions})
    return validators


def _describe(error: jsonschema.ValidationError) -> str:
    if error.validator == "enum" and len(error.validator_value) > 4:
        return f"{error.instance!r} is not one of the {len(error.validator_value)} values the contract allows"
    return error.message[:300]


def _json_path(error: jsonschema.ValidationError) -> str:
    return "body" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
