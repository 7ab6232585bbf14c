"""Block Kit, view and message-payload limits for the fake Slack used in tests.

Owns the structural rules and numeric limits of Slack surfaces (message blocks, modal / Home tab
views, response_url and slash-command payloads) as recorded in
``../shared/contracts/slack/slack_limits.md`` (Slack docs plus the validators in slack_sdk 3.47.0).
Every public function returns a list of human-readable problems, each prefixed with where it was
found (e.g. ``chat.postMessage: blocks[2].text.text: 3001 characters, limit is 3000``); an empty list
means the payload is fine. Pure functions, no I/O. Used by :mod:`slack_contract`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

Problems = list[str]

MESSAGE_MAX_BLOCKS = 50
VIEW_MAX_BLOCKS = 100
MESSAGE_TEXT_MAX = 40_000  # Slack truncates longer `text` (changelog 2018-04, see slack_limits.md)
MARKDOWN_TEXT_MAX = 12_000  # `markdown_text` argument and `markdown` block
TEXT_OBJECT_MAX = 3000  # generic text object limit (section text uses the same value)

TEXT_TYPES = frozenset({"plain_text", "mrkdwn"})
VIEW_TYPES = frozenset({"modal", "home"})
STYLES = frozenset({"primary", "danger"})
RESPONSE_TYPES = frozenset({"in_channel", "ephemeral"})

# Block types slack_sdk 3.47.0 `Block.parse` knows; anything else is flagged as unknown.
BLOCK_TYPES = frozenset({
    "section", "divider", "image", "actions", "context", "context_actions", "input", "file", "call",
    "header", "markdown", "video", "rich_text", "table", "task_card", "plan", "card", "alert",
    "container", "carousel", "auth_provider",
})
# Interactive / image elements of slack_sdk 3.47.0 `block_elements.py`.
ELEMENT_TYPES = frozenset({
    "button", "checkboxes", "datepicker", "timepicker", "datetimepicker", "feedback_buttons", "image",
    "icon_button", "static_select", "multi_static_select", "external_select", "multi_external_select",
    "users_select", "multi_users_select", "conversations_select", "multi_conversations_select",
    "channels_select", "multi_channels_select", "rich_text_input", "plain_text_input",
    "email_text_input", "url_text_input", "number_input", "file_input", "radio_buttons", "overflow",
    "workflow_button",
})
# Max options per element: selects 100 (slack_sdk), overflow 5 (slack_sdk), checkboxes / radio
# buttons 10 (docs.slack.dev checkboxes-element and radio-button-element pages).
OPTION_LIMITS = {"overflow": 5, "checkboxes": 10, "radio_buttons": 10}
NEEDS_OPTIONS = frozenset({"static_select", "multi_static_select", "overflow", "checkboxes", "radio_buttons"})
PLAIN_TEXT_OPTIONS = frozenset({"static_select", "multi_static_select", "overflow"})
BUTTON_LIKE = frozenset({"button", "workflow_button"})

# Keys of a response_url / slash-command ack message: the arguments of slack_sdk
# WebhookClient.send and slack_bolt respond()/ack(), plus `mrkdwn` (message formatting docs).
PAYLOAD_KEYS = frozenset({
    "text", "blocks", "attachments", "response_type", "replace_original", "delete_original",
    "unfurl_links", "unfurl_media", "thread_ts", "metadata", "mrkdwn",
})
PAYLOAD_BOOLEANS = ("replace_original", "delete_original", "unfurl_links", "unfurl_media", "mrkdwn")


def _string(obj: Mapping[str, Any], key: str, limit: int, where: str, *, required: bool = False) -> Problems:
    """Check an optional (or required) string field against a character limit."""
    if key not in obj:
        return [f"{where}.{key}: required"] if required else []
    value = obj[key]
    if not isinstance(value, str):
        return [f"{where}.{key}: expected a string, got {type(value).__name__}"]
    if len(value) > limit:
        return [f"{where}.{key}: {len(value)} characters, limit is {limit}"]
    return []


def check_text(obj: Any, where: str, *, limit: int = TEXT_OBJECT_MAX, plain_only: bool = False) -> Problems:
    """A composition text object: type plain_text|mrkdwn, non-empty `text` within `limit`."""
    if not isinstance(obj, Mapping):
        return [f"{where}: expected a text object, got {type(obj).__name__}"]
    kind = obj.get("type")
    if kind not in TEXT_TYPES:
        return [f"{where}.type: {kind!r} is not plain_text or mrkdwn"]
    problems: Problems = []
    if plain_only and kind != "plain_text":
        problems.append(f"{where}.type: must be plain_text, got {kind!r}")
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        problems.append(f"{where}.text: required, a non-empty string")
    elif len(text) > limit:
        problems.append(f"{where}.text: {len(text)} characters, limit is {limit}")
    if "emoji" in obj and kind != "plain_text":
        problems.append(f"{where}.emoji: only allowed on plain_text")
    if "verbatim" in obj and kind != "mrkdwn":
        problems.append(f"{where}.verbatim: only allowed on mrkdwn")
    return problems


def _text_field(obj: Mapping[str, Any], key: str, where: str, limit: int, *, required: bool = False,
                plain_only: bool = False) -> Problems:
    if key not in obj:
        return [f"{where}.{key}: required"] if required else []
    return check_text(obj[key], f"{where}.{key}", limit=limit, plain_only=plain_only)


def _style(obj: Mapping[str, Any], where: str) -> Problems:
    style = obj.get("style")
    return [] if style is None or style in STYLES else [f"{where}.style: {style!r} is not primary or danger"]


def _confirm(obj: Any, where: str) -> Problems:
    """Confirmation dialog: title 100, text 300, confirm / deny 30 (slack_sdk ConfirmObject)."""
    if not isinstance(obj, Mapping):
        return [f"{where}: expected a confirm object"]
    return (_text_field(obj, "title", where, 100, required=True, plain_only=True)
            + _text_field(obj, "text", where, 300, required=True)
            + _text_field(obj, "confirm", where, 30, required=True, plain_only=True)
            + _text_field(obj, "deny", where, 30, required=True, plain_only=True)
            + _style(obj, where))


def _option(obj: Any, where: str, *, plain_only: bool) -> Problems:
    """Option object: text 75, value 150, description 75, url 3000."""
    if not isinstance(obj, Mapping):
        return [f"{where}: expected an option object"]
    return (_text_field(obj, "text", where, 75, required=True, plain_only=plain_only)
            + _string(obj, "value", 150, where, required=True)
            + _text_field(obj, "description", where, 75, plain_only=True)
            + _string(obj, "url", 3000, where))


def _options(items: Any, where: str, *, limit: int, plain_only: bool) -> Problems:
    if not isinstance(items, list) or not items:
        return [f"{where}: expected a non-empty array of options"]
    problems = [f"{where}: {len(items)} options, limit is {limit}"] if len(items) > limit else []
    for i, item in enumerate(items):
        problems += _option(item, f"{where}[{i}]", plain_only=plain_only)
    return problems


def _option_groups(groups: Any, where: str) -> Problems:
    if not isinstance(groups, list) or not groups:
        return [f"{where}: expected a non-empty array of option groups"]
    problems = [f"{where}: {len(groups)} option groups, limit is 100"] if len(groups) > 100 else []
    for i, group in enumerate(groups):
        here = f"{where}[{i}]"
        if not isinstance(group, Mapping):
            problems.append(f"{here}: expected an option group object")
            continue
        problems += _text_field(group, "label", here, 75, required=True, plain_only=True)
        problems += _options(group.get("options"), f"{here}.options", limit=100, plain_only=True)
    return problems


def check_element(el: Any, where: str) -> Problems:
    """An interactive (or image) block element."""
    if not isinstance(el, Mapping):
        return [f"{where}: expected an element object"]
    etype = el.get("type")
    if etype not in ELEMENT_TYPES:
        return [f"{where}.type: unknown block element type {etype!r}"]
    problems = _string(el, "action_id", 255, where)
    problems += _text_field(el, "placeholder", where, 150, plain_only=True)
    if "confirm" in el:
        problems += _confirm(el["confirm"], f"{where}.confirm")
    if etype in BUTTON_LIKE:
        problems += _text_field(el, "text", where, 75, required=True, plain_only=True)
        problems += _string(el, "value", 2000, where) + _string(el, "url", 3000, where)
        problems += _string(el, "accessibility_label", 75, where) + _style(el, where)
    elif etype == "image":
        problems += _image_fields(el, where, title=False)
    if "options" in el:
        problems += _options(el["options"], f"{where}.options", limit=OPTION_LIMITS.get(etype, 100),
                             plain_only=etype in PLAIN_TEXT_OPTIONS)
    if "option_groups" in el:
        problems += _option_groups(el["option_groups"], f"{where}.option_groups")
    if etype in NEEDS_OPTIONS and "options" not in el and "option_groups" not in el:
        problems.append(f"{where}.options: required for {etype}")
    return problems


def _image_fields(obj: Mapping[str, Any], where: str, *, title: bool) -> Problems:
    problems = _string(obj, "alt_text", 2000, where, required=True)
    if "image_url" not in obj and "slack_file" not in obj:
        problems.append(f"{where}.image_url: required (or slack_file)")
    problems += _string(obj, "image_url", 3000, where)
    return problems + (_text_field(obj, "title", where, 2000, plain_only=True) if title else [])


def _elements(block: Mapping[str, Any], where: str, limit: int,
              check: Callable[[Any, str], Problems] = check_element) -> Problems:
    elements = block.get("elements")
    if not isinstance(elements, list) or not elements:
        return [f"{where}.elements: required, a non-empty array"]
    problems: Problems = []
    if len(elements) > limit:
        problems.append(f"{where}.elements: {len(elements)} elements, limit is {limit}")
    seen: set[str] = set()
    for i, el in enumerate(elements):
        problems += check(el, f"{where}.elements[{i}]")
        action_id = el.get("action_id") if isinstance(el, Mapping) else None
        if isinstance(action_id, str):
            if action_id in seen:
                problems.append(f"{where}.elements[{i}].action_id: duplicate action_id {action_id!r}")
            seen.add(action_id)
    return problems


def _context_element(el: Any, where: str) -> Problems:
    if isinstance(el, Mapping) and el.get("type") == "image":
        return _image_fields(el, where, title=False)
    return check_text(el, where)


def _section(block: Mapping[str, Any], where: str) -> Problems:
    problems = [] if "text" in block or "fields" in block else [f"{where}: section needs text or fields"]
    problems += _text_field(block, "text", where, 3000)
    fields = block.get("fields")
    if fields is not None:
        if not isinstance(fields, list):
            problems.append(f"{where}.fields: expected an array of text objects")
        else:
            if len(fields) > 10:
                problems.append(f"{where}.fields: {len(fields)} items, limit is 10")
            for i, field in enumerate(fields):
                problems += check_text(field, f"{where}.fields[{i}]", limit=2000)
    if "accessory" in block:
        problems += check_element(block["accessory"], f"{where}.accessory")
    return problems


def _input(block: Mapping[str, Any], where: str) -> Problems:
    problems = _text_field(block, "label", where, 2000, required=True, plain_only=True)
    problems += _text_field(block, "hint", where, 2000, plain_only=True)
    if "element" not in block:
        return [*problems, f"{where}.element: required"]
    return problems + check_element(block["element"], f"{where}.element")


_BLOCK_CHECKS: dict[str, Callable[[Mapping[str, Any], str], Problems]] = {
    "section": _section,
    "input": _input,
    "header": lambda b, w: _text_field(b, "text", w, 150, required=True, plain_only=True),
    "actions": lambda b, w: _elements(b, w, 25),
    "context": lambda b, w: _elements(b, w, 10, _context_element),
    "context_actions": lambda b, w: _elements(b, w, 5),
    "image": lambda b, w: _image_fields(b, w, title=True),
    "markdown": lambda b, w: _string(b, "text", MARKDOWN_TEXT_MAX, w, required=True),
    "video": lambda b, w: (_text_field(b, "title", w, 200, required=True, plain_only=True)
                           + _string(b, "author_name", 50, w)),
}


def check_block(block: Any, where: str) -> Problems:
    """One layout block: known type, block_id <= 255 and the type's own limits."""
    if not isinstance(block, Mapping):
        return [f"{where}: expected a block object, got {type(block).__name__}"]
    btype = block.get("type")
    if btype not in BLOCK_TYPES:
        return [f"{where}.type: unknown block type {btype!r}"]
    problems = _string(block, "block_id", 255, where)
    check = _BLOCK_CHECKS.get(btype)
    return problems + (check(block, where) if check else [])


def check_blocks(blocks: Any, where: str, *, max_blocks: int) -> Problems:
    """A surface's block list: count limit, each block, block_id unique within the surface."""
    if not isinstance(blocks, list):
        return [f"{where}: expected an array of blocks, got {type(blocks).__name__}"]
    problems = [f"{where}: {len(blocks)} blocks, limit is {max_blocks}"] if len(blocks) > max_blocks else []
    seen: dict[str, int] = {}
    for i, block in enumerate(blocks):
        problems += check_block(block, f"{where}[{i}]")
        block_id = block.get("block_id") if isinstance(block, Mapping) else None
        if isinstance(block_id, str):
            if block_id in seen:
                first = seen[block_id]
                problems.append(f"{where}[{i}].block_id: duplicate block_id {block_id!r} (also [{first}])")
            seen.setdefault(block_id, i)
    return problems


def check_view(view: Any, where: str = "view") -> Problems:
    """A modal or Home tab view object (views.open / views.update / views.publish)."""
    if not isinstance(view, Mapping):
        return [f"{where}: expected a view object, got {type(view).__name__}"]
    vtype = view.get("type")
    problems = [] if vtype in VIEW_TYPES else [f"{where}.type: {vtype!r} is not modal or home"]
    if "blocks" not in view:
        problems.append(f"{where}.blocks: required")
    else:
        problems += check_blocks(view["blocks"], f"{where}.blocks", max_blocks=VIEW_MAX_BLOCKS)
    if vtype == "modal":
        problems += _text_field(view, "title", where, 24, required=True, plain_only=True)
        has_input = any(isinstance(b, Mapping) and b.get("type") == "input" for b in view.get("blocks") or [])
        if has_input and view.get("submit") is None:
            problems.append(f"{where}.submit: required when the modal has an input block")
    for key in ("close", "submit"):  # Slack's own view objects use null for "no button"
        if view.get(key) is not None:
            problems += check_text(view[key], f"{where}.{key}", limit=24, plain_only=True)
    problems += _string(view, "private_metadata", 3000, where)
    problems += _string(view, "callback_id", 255, where) + _string(view, "external_id", 255, where)
    return problems


def check_message(fields: Mapping[str, Any], where: str) -> Problems:
    """Message content shared by chat.* arguments and response_url payloads (JSON already decoded)."""
    problems = _string(fields, "text", MESSAGE_TEXT_MAX, where)
    problems += _string(fields, "markdown_text", MARKDOWN_TEXT_MAX, where)
    if "markdown_text" in fields and ("text" in fields or "blocks" in fields):
        problems.append(f"{where}.markdown_text: not allowed with text or blocks (markdown_text_conflict)")
    if "blocks" in fields:
        problems += check_blocks(fields["blocks"], f"{where}.blocks", max_blocks=MESSAGE_MAX_BLOCKS)
    attachments = fields.get("attachments")
    if attachments is not None and not (
        isinstance(attachments, list) and all(isinstance(a, Mapping) for a in attachments)
    ):
        problems.append(f"{where}.attachments: expected an array of attachment objects")
    return problems


def check_message_payload(payload: Any, where: str = "message payload") -> Problems:
    """A response_url body or a slash-command / interaction ack carrying a message."""
    if not isinstance(payload, Mapping):
        return [f"{where}: expected a JSON object, got {type(payload).__name__}"]
    problems = [f"{where}.{key}: not a message payload field" for key in sorted(set(payload) - PAYLOAD_KEYS)]
    response_type = payload.get("response_type")
    if response_type is not None and response_type not in RESPONSE_TYPES:
        problems.append(f"{where}.response_type: {response_type!r} is not in_channel or ephemeral")
    for key in PAYLOAD_BOOLEANS:
        if key in payload and not isinstance(payload[key], bool):
            problems.append(f"{where}.{key}: expected a JSON boolean, got {payload[key]!r}")
    return problems + check_message(payload, where)
