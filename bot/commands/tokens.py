"""Splitting slash-command text into words and `--flags`, the way people type it into Slack.

Slack may turn straight quotes into typographic ones, and sends mentions as `<@U123|name>`;
both are handled here so every grammar sees plain words.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

from bot.errors import BadInput

_QUOTES = str.maketrans({"\u201c": '"', "\u201d": '"', "\u201e": '"', "\u2018": "'", "\u2019": "'"})
_MENTION = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$")
_GROUP = re.compile(r"^<!subteam\^(S[A-Z0-9]+)(?:\|[^>]*)?>$")
_CHANNEL = re.compile(r"^<#([CG][A-Z0-9]+)(?:\|[^>]*)?>$")


@dataclass
class Words:
    """Positional words and flags of one command line."""

    positional: list[str]
    flags: dict[str, str | None] = field(default_factory=dict)


def split_words(text: str, *, usage: str, value_flags: set[str], bool_flags: frozenset[str] = frozenset()) -> Words:
    """Tokenise; `--flag value` and `--flag=value` for value_flags, bare `--flag` for bool_flags."""
    if "\x00" in text:  # no stored text may hold one (PostgreSQL refuses it), so no word may either
        raise BadInput("the text holds a NUL character; type it again without it", usage=usage)
    try:
        tokens = shlex.split(text.translate(_QUOTES))
    except ValueError as exc:
        raise BadInput(f"I could not read that: {exc} (is a quote missing?)", usage=usage) from None
    words = Words(positional=[])
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token.startswith("--") and len(token) > 2:
            name, eq, value = token[2:].partition("=")
            if name in bool_flags:
                if eq:
                    raise BadInput(f"--{name} takes no value", usage=usage)
                words.flags[name] = None
            elif name in value_flags:
                if not eq:
                    if i + 1 >= len(tokens) or tokens[i + 1].startswith("--"):
                        raise BadInput(f"--{name} needs a value", usage=usage)
                    i += 1
                    value = tokens[i]
                if name in words.flags:
                    raise BadInput(f"--{name} is given twice", usage=usage)
                words.flags[name] = value
            else:
                known = ", ".join(f"--{f}" for f in sorted(value_flags | bool_flags)) or "none"
                raise BadInput(f"unknown option --{name} (options here: {known})", usage=usage)
        else:
            words.positional.append(token)
        i += 1
    return words


def user_id(word: str) -> str | None:
    """The user id of a `<@U123|name>` mention, or None if the word is not one."""
    match = _MENTION.match(word)
    return match.group(1) if match else None


def usergroup_id(word: str) -> str | None:
    match = _GROUP.match(word)
    return match.group(1) if match else None


def channel_id(word: str) -> str | None:
    match = _CHANNEL.match(word)
    return match.group(1) if match else None
