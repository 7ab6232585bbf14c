"""Plain-text pieces of Block Kit: text objects, Slack mrkdwn, rich text and elements.

Used by `bot.console.block_text`. Everything here is pure and deterministic, and tolerates
malformed payloads (missing keys, wrong types) by rendering less rather than raising.
Text comes back as `Line`s: `(text, preformatted)`, where preformatted lines (code) are
never re-wrapped by the caller.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from bot.console.date_tokens import render_date

UserName = Callable[[str], str]
Line = tuple[str, bool]

MAX_SHOWN_OPTIONS = 10
CODE_INDENT = "    "


def same_name(user_id: str) -> str:
    """The default user resolver: shows the raw user id."""
    return user_id


def get_str(obj: Any, key: str) -> str | None:
    value = obj.get(key) if isinstance(obj, Mapping) else None
    return value if isinstance(value, str) else None


def get_map(obj: Any, key: str) -> Mapping[str, Any]:
    value = obj.get(key) if isinstance(obj, Mapping) else None
    return value if isinstance(value, Mapping) else {}


def get_list(obj: Any, key: str) -> list[Any]:
    value = obj.get(key) if isinstance(obj, Mapping) else None
    return list(value) if isinstance(value, list | tuple) else []


def get_int(obj: Any, key: str, low: int, high: int) -> int:
    """An integer field clamped to [low, high]; `low` when absent or not an int."""
    value = obj.get(key) if isinstance(obj, Mapping) else None
    if not isinstance(value, int) or isinstance(value, bool):
        return low
    return min(max(value, low), high)


def unescape(text: str) -> str:
    """Undo Slack's three control-character escapes (and nothing else)."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


# ---------------------------------------------------------------- mrkdwn

_CODE_BLOCK = re.compile(r"```(.*?)```", re.DOTALL)
_INLINE_CODE = re.compile(r"`[^`\n]+`")
_TOKEN = re.compile(r"<([^<>\n]+)>")
_BROADCASTS = ("here", "channel", "everyone")


def _token(inner: str, user_name: UserName) -> str:
    head, _, label = inner.partition("|")
    if head.startswith("@"):
        user_id = head[1:]
        name = user_name(user_id)
        return "@" + (label.lstrip("@") if label and name == user_id else name)
    if head.startswith("#"):
        return "#" + (label or head[1:])
    if head.startswith("!"):
        command = head[1:]
        if command in _BROADCASTS:
            return "@" + command
        if command.startswith("subteam^"):
            return "@" + (label.lstrip("@") or command.removeprefix("subteam^"))
        if command.startswith("date^"):  # in the viewer's zone, as Slack shows it (the fallback names UTC)
            return render_date(command, label)
        return label or "@" + command
    if not head or head == "mailto:" + label:
        return label
    return f"{label} ({head})" if label and label != head else head


def _prose(text: str, user_name: UserName) -> str:
    def links(part: str) -> str:
        return unescape(_TOKEN.sub(lambda m: _token(m.group(1), user_name), part))

    pieces: list[str] = []
    pos = 0
    for match in _INLINE_CODE.finditer(text):  # no link parsing inside `code`
        pieces += [links(text[pos : match.start()]), unescape(match.group(0))]
        pos = match.end()
    return "".join([*pieces, links(text[pos:])])


def mrkdwn_lines(text: str, user_name: UserName = same_name) -> list[Line]:
    """Slack mrkdwn as terminal lines; ```code blocks``` become indented preformatted lines."""
    lines: list[Line] = []
    pos = 0
    matches = list(_CODE_BLOCK.finditer(text))
    for index in range(len(matches) + 1):
        end = matches[index].start() if index < len(matches) else len(text)
        prose = text[pos:end]
        if index > 0:  # the rest of the closing fence's line
            prose = prose[1:] if prose.startswith("\n") else prose.lstrip(" ")
        if index < len(matches):  # the start of the opening fence's line
            prose = prose[:-1] if prose.endswith("\n") else prose.rstrip(" ")
        if prose and (prose.strip() or not matches):
            lines.extend((line, False) for line in _prose(prose, user_name).split("\n"))
        if index < len(matches):
            code = matches[index].group(1).removeprefix("\n").removesuffix("\n")
            lines.extend((CODE_INDENT + unescape(line), True) for line in code.split("\n"))
            pos = matches[index].end()
    return lines


def render_mrkdwn(text: str, *, user_name: UserName = same_name) -> str:
    """Slack mrkdwn to terminal text.

    `<@U1>` -> `@name` (via `user_name`), `<#C1|deploys>` -> `#deploys`, `<url|label>` ->
    `label (url)`, `<!here>` -> `@here`; `*bold*`, `_italic_` and `` `code` `` are kept as
    typed, ```code blocks``` are indented by four spaces, and `&amp; &lt; &gt;` are unescaped.
    """
    return "\n".join(line for line, _ in mrkdwn_lines(text, user_name))


_MD_LINK = re.compile(r"\[([^\]\n]+)\]\((\S+?)\)")


def markdown_lines(text: str) -> list[Line]:
    """Standard markdown (the `markdown` block): links flattened, fenced code indented."""
    lines: list[Line] = []
    in_code = False
    for line in text.split("\n"):
        if line.lstrip().startswith("```"):
            in_code = not in_code
        elif in_code:
            lines.append((CODE_INDENT + line, True))
        else:
            flat = _MD_LINK.sub(lambda m: m[1] if m[1] == m[2] else f"{m[1]} ({m[2]})", line)
            lines.append((flat, False))
    return lines


# ---------------------------------------------------------------- text objects


def text_lines(obj: Any, user_name: UserName = same_name) -> list[Line]:
    """Lines of a `plain_text` / `mrkdwn` text object (a bare string is read as mrkdwn)."""
    if isinstance(obj, str):
        return mrkdwn_lines(obj, user_name)
    text = get_str(obj, "text")
    if text is None:
        return []
    if get_str(obj, "type") == "plain_text":
        return [(line, False) for line in text.split("\n")]
    return mrkdwn_lines(text, user_name)


def plain(obj: Any, user_name: UserName = same_name) -> str:
    """A text object squeezed onto one line."""
    return " ".join(line.strip() for line, _ in text_lines(obj, user_name) if line.strip())


# ---------------------------------------------------------------- rich text

_STYLE_MARKS = (("code", "`"), ("strike", "~"), ("italic", "_"), ("bold", "*"))
_RICH_REFS = {  # element type -> (prefix, key, suffix)
    "channel": ("#", "channel_id", ""),
    "usergroup": ("@", "usergroup_id", ""),
    "broadcast": ("@", "range", ""),
    "emoji": (":", "name", ":"),
    "team": ("", "team_id", ""),
    "color": ("", "value", ""),
}


def _rich_inline(element: Any, user_name: UserName) -> str:
    kind = get_str(element, "type")
    if kind == "text":
        text = get_str(element, "text") or ""
        core = text.strip()
        if core:
            style = get_map(element, "style")
            for key, mark in _STYLE_MARKS:
                core = f"{mark}{core}{mark}" if style.get(key) is True else core
            text = text[: len(text) - len(text.lstrip())] + core + text[len(text.rstrip()) :]
        return text
    if kind == "link":
        url, label = get_str(element, "url") or "", get_str(element, "text")
        return f"{label} ({url})" if label and label != url else url
    if kind == "user":
        return "@" + user_name(get_str(element, "user_id") or "?")
    if kind == "date":
        return get_str(element, "fallback") or str(get_int(element, "timestamp", 0, 10**12))
    sigil, key, suffix = _RICH_REFS.get(kind or "", ("", "", ""))
    return sigil + (get_str(element, key) or "?") + suffix if key else ""


def _rich_section(section: Any, user_name: UserName) -> list[str]:
    text = "".join(_rich_inline(part, user_name) for part in get_list(section, "elements"))
    return text.removesuffix("\n").split("\n")


def rich_text_lines(block: Any, user_name: UserName = same_name) -> list[Line]:
    """Best-effort plain text of a `rich_text` block: sections, lists, code and quotes."""
    lines: list[Line] = []
    for element in get_list(block, "elements"):
        kind = get_str(element, "type")
        if kind == "rich_text_list":
            pad = "  " * get_int(element, "indent", 0, 8)
            ordered = get_str(element, "style") == "ordered"
            first = 1 + get_int(element, "offset", 0, 10**6)
            for number, item in enumerate(get_list(element, "elements"), start=first):
                bullet = f"{number}. " if ordered else "• "
                item_lines = _rich_section(item, user_name)
                lines.append((pad + bullet + item_lines[0], False))
                lines.extend((pad + " " * len(bullet) + line, False) for line in item_lines[1:])
        elif kind == "rich_text_preformatted":
            lines.extend((CODE_INDENT + line, True) for line in _rich_section(element, user_name))
        elif kind == "rich_text_quote":
            lines.extend(("> " + line, False) for line in _rich_section(element, user_name))
        elif kind == "rich_text_section":
            lines.extend((line, False) for line in _rich_section(element, user_name))
    return lines


# ---------------------------------------------------------------- interactive elements


@dataclass(frozen=True)
class ElementInfo:
    """What one Block Kit element looks like in the console, before it gets a number."""

    kind: str
    action_id: str | None
    label: str
    detail: str
    interactive: bool
    value: str | None = None
    options: tuple[tuple[str, str], ...] = ()
    url: str | None = None
    style: str | None = None
    initial: str | None = None


_SELECTS = {
    "static_select": ("an option", "no options"),
    "external_select": ("an option", "search"),
    "users_select": ("a user", "any user"),
    "conversations_select": ("a conversation", "any conversation"),
    "channels_select": ("a channel", "any channel"),
}
_INITIAL_KEYS = {
    "users_select": ("initial_user", "initial_users", "@"),
    "conversations_select": ("initial_conversation", "initial_conversations", "#"),
    "channels_select": ("initial_channel", "initial_channels", "#"),
}
_PICKERS = {
    "datepicker": ("Select a date", "date", "initial_date"),
    "timepicker": ("Select a time", "time", "initial_time"),
    "datetimepicker": ("Select a date and time", "date and time", "initial_date_time"),
}
_TEXT_INPUTS = {
    "plain_text_input": "text",
    "email_text_input": "email",
    "url_text_input": "URL",
    "number_input": "number",
    "rich_text_input": "rich text",
    "file_input": "file upload",
}


def _option(option: Any, user_name: UserName) -> tuple[str, str]:
    return plain(get_map(option, "text"), user_name), get_str(option, "value") or ""


def options_of(element: Any, user_name: UserName = same_name) -> tuple[tuple[str, str], ...]:
    """(label, value) of every option, option groups flattened."""
    raw = get_list(element, "options")
    for group in get_list(element, "option_groups"):
        raw.extend(get_list(group, "options"))
    return tuple(_option(option, user_name) for option in raw if isinstance(option, Mapping))


def _summary(options: tuple[tuple[str, str], ...]) -> str:
    shown = " | ".join(label for label, _ in options[:MAX_SHOWN_OPTIONS])
    hidden = len(options) - MAX_SHOWN_OPTIONS
    return shown + (f" | … +{hidden} more" if hidden > 0 else "")


def _initial(element: Any, base: str, user_name: UserName) -> str | None:
    if base in _INITIAL_KEYS:
        one, many, sigil = _INITIAL_KEYS[base]
        ids = [get_str(element, one)] + [v for v in get_list(element, many) if isinstance(v, str)]
        names = [sigil + (user_name(i) if sigil == "@" else i) for i in ids if i]
    else:
        names = [label for label, _ in _chosen(element, user_name)]
    return ", ".join(names) or None


def _chosen(element: Any, user_name: UserName) -> list[tuple[str, str]]:
    chosen = [get_map(element, "initial_option"), *get_list(element, "initial_options")]
    return [_option(option, user_name) for option in chosen if isinstance(option, Mapping) and option]


def _button(element: Any, kind: str, action_id: str | None, user_name: UserName) -> ElementInfo:
    label = plain(element.get("text"), user_name) or get_str(element, "icon") or kind
    style, url = get_str(element, "style"), get_str(element, "url")
    # The style (primary, danger) is colour in Slack; spelt out here it read as "only for the primary".
    detail = label + (f" -> {url}" if url else "")
    detail += " (asks to confirm)" if isinstance(element.get("confirm"), Mapping) else ""
    value = get_str(element, "value")
    return ElementInfo(kind, action_id, label, detail, True, value=value, url=url, style=style)


def describe_element(element: Any, user_name: UserName = same_name) -> ElementInfo:
    """Describe a Block Kit element; unknown types come back non-interactive and marked."""
    kind = get_str(element, "type") or "?"
    if not isinstance(element, Mapping):
        return ElementInfo(kind, None, kind, f"[unsupported element: {kind}]", False)
    action_id = get_str(element, "action_id")
    placeholder = plain(element.get("placeholder"), user_name)
    options = options_of(element, user_name)
    base = kind.removeprefix("multi_")
    if kind in ("button", "workflow_button", "icon_button"):
        return _button(element, kind, action_id, user_name)
    if base in _SELECTS:
        noun, anything = _SELECTS[base]
        label = placeholder or f"Select {noun}"
        initial = _initial(element, base, user_name)
        detail = f"{label} ▾" + (f" = {initial}" if initial else "")
        detail += f" ({_summary(options) if options else anything})"
        detail += " [multiple]" if kind != base else ""
        return ElementInfo(kind, action_id, label, detail, True, options=options, initial=initial)
    if kind == "overflow":
        return ElementInfo(kind, action_id, "⋯", f"⋯ ({_summary(options)})", True, options=options)
    if kind in ("checkboxes", "radio_buttons"):
        initial = _initial(element, kind, user_name)
        chosen = {value for _, value in _chosen(element, user_name)}
        on, off = ("[x]", "[ ]") if kind == "checkboxes" else ("(•)", "( )")
        marks = [f"{on if value in chosen else off} {label}" for label, value in options[:MAX_SHOWN_OPTIONS]]
        detail = " ".join(marks) + (f" … +{len(options) - MAX_SHOWN_OPTIONS} more" if len(marks) < len(options) else "")
        label = _summary(options)
        return ElementInfo(kind, action_id, label, detail or kind, True, options=options, initial=initial)
    if kind in _PICKERS:
        default, noun, key = _PICKERS[kind]
        label = placeholder or default
        stamp = get_int(element, key, -(10**12), 10**12)  # datetimepicker: unix seconds
        initial = get_str(element, key) or (str(stamp) if stamp != -(10**12) else None)
        detail = f"{label} ({noun}" + (f", now {initial})" if initial else ")")
        return ElementInfo(kind, action_id, label, detail, True, initial=initial)
    if kind in _TEXT_INPUTS:
        noun = _TEXT_INPUTS[kind] + (", multiline" if element.get("multiline") is True else "")
        label = placeholder or _TEXT_INPUTS[kind]
        initial = get_str(element, "initial_value")
        detail = f"{label} ({noun})" + (f" = {initial!r}" if initial else "")
        return ElementInfo(kind, action_id, label, detail, True, initial=initial)
    if kind == "image":
        alt = get_str(element, "alt_text") or "image"
        return ElementInfo(kind, None, alt, f"[image: {alt}]", False)
    return ElementInfo(kind, action_id, kind, f"[unsupported element: {kind}]", False)
