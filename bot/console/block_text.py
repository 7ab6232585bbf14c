"""Render Slack Block Kit payloads as plain terminal text for the local console.

The console shows what Switchman posts (messages, thread replies, ephemerals, DMs, modals,
the App Home) as readable lines. Every pressable element gets a number from a session-wide
`Numbering`, shown as `[3] Approve (primary)`, so the user can press it by typing 3; modal
input blocks get numbers too and are listed as `InputField`s to fill in.

Rendering is deterministic (no colours unless `ansi=True`) and never raises on malformed
blocks: unknown block types show as `[unsupported block: TYPE]`.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.console.element_text import (
    Line,
    UserName,
    describe_element,
    get_list,
    get_str,
    markdown_lines,
    mrkdwn_lines,
    plain,
    render_mrkdwn,
    rich_text_lines,
    same_name,
    text_lines,
)

__all__ = [
    "InputField",
    "Interactive",
    "Numbering",
    "Rendered",
    "render_blocks",
    "render_mrkdwn",
    "render_view",
]

FIELD_GAP = 4
MIN_WIDTH = 20


@dataclass(frozen=True)
class Interactive:
    """A pressable element (button, select, overflow, picker, ...) and the number it was given."""

    number: int
    action_id: str
    block_id: str | None
    kind: str
    label: str
    value: str | None
    options: tuple[tuple[str, str], ...]
    url: str | None
    style: str | None


@dataclass(frozen=True)
class InputField:
    """One input block of a modal or App Home that the console user can fill in by number."""

    number: int
    block_id: str | None
    action_id: str
    label: str
    kind: str
    options: tuple[tuple[str, str], ...]
    optional: bool
    initial: str | None = None


class Numbering:
    """Hands out increasing numbers across a console session, remembers each Interactive by number."""

    def __init__(self, start: int = 1) -> None:
        self._next = start
        self._interactives: dict[int, Interactive] = {}
        self._inputs: dict[int, InputField] = {}

    def next(self) -> int:
        number = self._next
        self._next += 1
        return number

    def remember(self, item: Interactive) -> None:
        self._interactives[item.number] = item

    def get(self, number: int) -> Interactive | None:
        return self._interactives.get(number)

    def remember_input(self, item: InputField) -> None:
        self._inputs[item.number] = item

    def get_input(self, number: int) -> InputField | None:
        return self._inputs.get(number)


@dataclass(frozen=True)
class Rendered:
    """Terminal lines plus what in them can be pressed (`interactives`) or filled (`inputs`)."""

    lines: list[str]
    interactives: list[Interactive]
    inputs: list[InputField] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


_NUMBER_TAG = re.compile(r"(\[\d+\]) ")
_GLUE = "\x00"


def wrap(line: str, width: int, indent: str | None = None) -> list[str]:
    """Wrap at spaces only: URLs and other long words are never split, they overflow instead.

    A `[3] ` tag stays on the same line as the label it numbers.
    """
    if len(line) <= width:
        return [line]
    lead = line[: len(line) - len(line.lstrip(" "))] if indent is None else indent
    glued = _NUMBER_TAG.sub(lambda m: m.group(1) + _GLUE, line.replace(_GLUE, " "))
    wrapped = textwrap.wrap(
        glued,
        width=width,
        subsequent_indent=lead[: width // 2],
        break_long_words=False,
        break_on_hyphens=False,
    )
    return [part.replace(_GLUE, " ") for part in wrapped] or [line]


def pack(chunks: Iterable[str], width: int, sep: str = "  ") -> list[str]:
    """Lay chunks out left to right, starting a new line when the next one would not fit."""
    lines: list[str] = []
    current = ""
    for chunk in chunks:
        if current and len(current) + len(sep) + len(chunk) <= width:
            current += sep + chunk
            continue
        if current:
            lines.extend(wrap(current, width, "    "))
        current = chunk
    if current:
        lines.extend(wrap(current, width, "    "))
    return lines


class _Renderer:
    def __init__(self, numbering: Numbering, user_name: UserName, width: int, ansi: bool, in_view: bool) -> None:
        self.numbering = numbering
        self.user_name = user_name
        self.width = max(width, MIN_WIDTH)
        self.ansi = ansi
        self.in_view = in_view
        self.lines: list[str] = []
        self.interactives: list[Interactive] = []
        self.inputs: list[InputField] = []

    def result(self) -> Rendered:
        # Labels, ids and alt texts come straight from the payload; keep one line per entry.
        lines = [part for line in self.lines for part in (line.splitlines() or [""])]
        return Rendered(lines, self.interactives, self.inputs)

    def emit(self, lines: Iterable[Line], indent: str | None = None) -> None:
        for text, preformatted in lines:
            self.lines.extend([text] if preformatted else wrap(text, self.width, indent))

    def dim(self, text: str) -> str:
        return f"\x1b[2m{text}\x1b[0m" if self.ansi else text

    def element(self, element: Any, block_id: str | None) -> str:
        info = describe_element(element, self.user_name)
        if not info.interactive:
            return info.detail
        item = Interactive(
            number=self.numbering.next(),
            action_id=info.action_id or "",
            block_id=block_id,
            kind=info.kind,
            label=info.label,
            value=info.value,
            options=info.options,
            url=info.url,
            style=info.style,
        )
        self.numbering.remember(item)
        self.interactives.append(item)
        return f"[{item.number}] {info.detail}"

    def block(self, block: Any) -> None:
        kind = get_str(block, "type")  # None unless block is a mapping with a string type
        handler = _HANDLERS.get(kind or "")
        if handler is None or not isinstance(block, Mapping):
            self.lines.append(f"[unsupported block: {kind or '?'}]")
        else:
            handler(self, block)

    def header(self, block: Mapping[str, Any]) -> None:
        title = plain(block.get("text"), self.user_name)
        wrapped = wrap(title, self.width)
        bold = "\x1b[1m{}\x1b[0m" if self.ansi else "{}"
        self.lines.extend(bold.format(line) for line in wrapped)
        self.lines.append("═" * max(1, max(len(line) for line in wrapped)))

    def section(self, block: Mapping[str, Any]) -> None:
        block_id = get_str(block, "block_id")
        body: list[str] = []
        for text, preformatted in text_lines(block.get("text"), self.user_name):
            body.extend([text] if preformatted else wrap(text, self.width))
        fields = get_list(block, "fields")
        accessory = block.get("accessory")
        extra = self.element(accessory, block_id) if isinstance(accessory, Mapping) else None
        if extra and len(body) == 1 and len(body[0]) + 3 + len(extra) <= self.width:
            body[0] += "   " + extra
            extra = None
        self.lines.extend(body)
        self.fields(fields)
        if extra:
            self.lines.extend(wrap("  " + extra, self.width))

    def fields(self, fields: list[Any]) -> None:
        cells = [[text for text, _ in text_lines(f, self.user_name)] or [""] for f in fields]
        left, right = cells[0::2], cells[1::2]
        left_width = max((len(line) for cell in left for line in cell), default=0)
        right_width = max((len(line) for cell in right for line in cell), default=0)
        if not right or left_width + FIELD_GAP + right_width > self.width:
            for f in fields:
                self.emit(text_lines(f, self.user_name))
            return
        for index, left_cell in enumerate(left):
            right_cell = right[index] if index < len(right) else []
            for row in range(max(len(left_cell), len(right_cell))):
                a = left_cell[row] if row < len(left_cell) else ""
                b = right_cell[row] if row < len(right_cell) else ""
                self.lines.append((a.ljust(left_width + FIELD_GAP) + b).rstrip())

    def divider(self, block: Mapping[str, Any]) -> None:
        self.lines.append("─" * self.width)

    def context(self, block: Mapping[str, Any]) -> None:
        parts = [
            describe_element(e).detail if get_str(e, "type") == "image" else plain(e, self.user_name)
            for e in get_list(block, "elements")
        ]
        joined = " · ".join(part for part in parts if part)
        if joined:
            self.lines.extend(self.dim(line) for line in wrap("  · " + joined, self.width, "    "))

    def actions(self, block: Mapping[str, Any]) -> None:
        block_id = get_str(block, "block_id")
        chunks = [self.element(e, block_id) for e in get_list(block, "elements")]
        self.lines.extend(pack(chunks, self.width))

    def input(self, block: Mapping[str, Any]) -> None:
        info = describe_element(block.get("element"), self.user_name)
        label = plain(block.get("label"), self.user_name) or "input"
        block_id, action_id = get_str(block, "block_id"), info.action_id or ""
        optional = block.get("optional") is True
        if self.in_view:
            number = self.numbering.next()
            item = InputField(number, block_id, action_id, label, info.kind, info.options, optional, info.initial)
            self.numbering.remember_input(item)
            self.inputs.append(item)
            head = f"(input {number}: {block_id or '-'}/{action_id or '-'} — {label})"
        else:
            head = f"{label} (input: {action_id or '-'})"
        self.emit([(head + (" (optional)" if optional else ""), False)])
        self.emit([("    " + info.detail, False)])
        hint = plain(block.get("hint"), self.user_name)
        if hint:
            self.lines.extend(self.dim(line) for line in wrap("    · " + hint, self.width))

    def image(self, block: Mapping[str, Any]) -> None:
        title = plain(block.get("title"), self.user_name)
        alt = get_str(block, "alt_text") or title or "image"
        self.emit([(f"[image: {alt}]" + (f" {title}" if title and title != alt else ""), False)])

    def rich_text(self, block: Mapping[str, Any]) -> None:
        self.emit(rich_text_lines(block, self.user_name))

    def markdown(self, block: Mapping[str, Any]) -> None:
        self.emit(markdown_lines(get_str(block, "text") or ""))

    def video(self, block: Mapping[str, Any]) -> None:
        title = plain(block.get("title"), self.user_name) or get_str(block, "alt_text") or "video"
        url = get_str(block, "title_url") or get_str(block, "video_url")
        self.emit([(f"[video: {title}]" + (f" {url}" if url else ""), False)])

    def file(self, block: Mapping[str, Any]) -> None:
        self.lines.append(f"[file: {get_str(block, 'external_id') or '?'}]")

    def call(self, block: Mapping[str, Any]) -> None:
        self.lines.append(f"[call: {get_str(block, 'call_id') or '?'}]")


_HANDLERS: dict[str, Callable[[_Renderer, Mapping[str, Any]], None]] = {
    "header": _Renderer.header,
    "section": _Renderer.section,
    "divider": _Renderer.divider,
    "context": _Renderer.context,
    "actions": _Renderer.actions,
    "input": _Renderer.input,
    "image": _Renderer.image,
    "rich_text": _Renderer.rich_text,
    "markdown": _Renderer.markdown,
    "video": _Renderer.video,
    "file": _Renderer.file,
    "call": _Renderer.call,
}


def render_blocks(
    blocks: Sequence[Mapping[str, Any]],
    *,
    numbering: Numbering,
    user_name: Callable[[str], str] = same_name,
    fallback_text: str | None = None,
    width: int = 100,
    ansi: bool = False,
) -> Rendered:
    """Render a message's blocks (or its fallback text when there are none)."""
    renderer = _Renderer(numbering, user_name, width, ansi, in_view=False)
    items = [] if isinstance(blocks, str | bytes) else list(blocks or [])
    if not items and fallback_text:
        renderer.emit(mrkdwn_lines(fallback_text, user_name))
    for block in items:
        renderer.block(block)
    return renderer.result()


def render_view(
    view: Mapping[str, Any],
    *,
    numbering: Numbering,
    user_name: Callable[[str], str] = same_name,
    width: int = 100,
    ansi: bool = False,
) -> Rendered:
    """Render a modal or App Home: a boxed title line with close/submit labels, then its blocks."""
    renderer = _Renderer(numbering, user_name, width, ansi, in_view=True)
    kind = get_str(view, "type") or "modal"
    title = plain(view.get("title"), user_name) if isinstance(view, Mapping) else ""
    title = title or ("App Home" if kind == "home" else kind)
    buttons = [f"{name}: {text}" for name in ("close", "submit") if (text := _view_label(view, name))]
    left = f"╭─ {title} "
    right = f" {' · '.join(buttons)} ─╮" if buttons else "╮"
    top = left + "─" * max(1, renderer.width - len(left) - len(right)) + right
    renderer.lines.append(top)
    for block in get_list(view, "blocks"):
        renderer.block(block)
    renderer.lines.append("╰" + "─" * (len(top) - 2) + "╯")
    return renderer.result()


def _view_label(view: Any, key: str) -> str:
    return plain(view.get(key)) if isinstance(view, Mapping) else ""
