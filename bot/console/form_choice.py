"""Choosing an option of a form's select in the console by what it says ("api → staging"), never by the hidden
value behind it. Case and spacing do not matter, `->` stands for `→`, and the start of one label is enough."""

from __future__ import annotations

from bot.console.block_text import InputField

SELECTS = ("static_select", "external_select")


def _plain(text: str) -> str:
    return " ".join(text.replace("->", "→").lower().split())


def choose(field: InputField, typed: str) -> tuple[str, str] | str:
    """(label, value) of the option `typed` names, or what to tell the person when it names none."""
    wanted = _plain(typed)
    exact = [option for option in field.options if _plain(option[0]) == wanted]
    starting = [option for option in field.options if wanted and _plain(option[0]).startswith(wanted)]
    found = exact or starting
    if len(found) == 1:
        return found[0]
    labels = " | ".join(label for label, _ in field.options)
    if found:
        return f"{typed!r} is the start of several choices of input {field.number}: {labels}"
    return f"input {field.number} has no choice {typed!r}; its choices: {labels}"


def label_of(field: InputField, value: str) -> str:
    return next((label for label, option_value in field.options if option_value == value), value)
