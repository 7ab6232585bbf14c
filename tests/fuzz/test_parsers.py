"""Arbitrary text to every command grammar: a typed command or a short BadInput naming the usage, nothing else.

The grammar-level properties on realistic words (every field within §2's limits) are in
tests/commands; here the text is anything at all — control characters, unclosed quotes, megabyte-ish
words, flags without values, numbers past every limit — and the only allowed failure is BadInput.
"""

from __future__ import annotations

import typing
from types import ModuleType

import pytest
from hypothesis import given

from bot.commands import deploy, oncall, rollback
from bot.commands.help_hint import help_hint
from bot.errors import BadInput
from bot.slack import replies
from tests.commands.test_grammars import assert_within_limits
from tests.fuzz.policy import fuzz
from tests.fuzz.strategies import COMMAND_TEXT

GRAMMARS = {"deploy": (deploy, deploy.DeployCommand), "rollback": (rollback, rollback.RollbackCommand),
            "oncall": (oncall, oncall.OncallCommand)}


def parsed_or_refused(grammar: ModuleType, command_type: object, text: str) -> None:
    try:
        parsed = grammar.parse(text)
    except BadInput as exc:
        assert exc.usage == grammar.USAGE, "a refusal shows the command's usage"
        assert exc.message and len(exc.message) < 1000, "a refusal says briefly what was wrong"
        shown = replies.bad_input(exc.message, exc.usage)["text"].splitlines()
        assert len(shown) <= 2, "a refusal is one or two lines, not the whole usage again"
        command = grammar.__name__.rsplit(".", 1)[1]
        assert shown[-1] == help_hint(grammar.USAGE) == f"`/{command} help` for the full usage."
        return
    assert isinstance(parsed, typing.get_args(command_type)), parsed
    assert_within_limits(parsed)


@pytest.mark.parametrize("name", sorted(GRAMMARS))
def test_any_text_parses_or_is_refused_with_the_usage(name: str) -> None:
    grammar, command_type = GRAMMARS[name]

    @fuzz(300)
    @given(COMMAND_TEXT)
    def check(text: str) -> None:
        parsed_or_refused(grammar, command_type, text)

    check()


@pytest.mark.parametrize("name", sorted(GRAMMARS))
@pytest.mark.parametrize("head", ["help", "status", "why", "lock", "unlock", "history", "metrics", "cancel", "next",
                                  "me", "schedule", "swap", "cover", "away", "page", "ack", "resolve",
                                  "shadow-stats", "calendar", "api staging", "api staging to", "api-oncall"])
def test_any_arguments_of_a_sub_command_parse_or_are_refused(name: str, head: str) -> None:
    grammar, command_type = GRAMMARS[name]

    @fuzz(40)
    @given(COMMAND_TEXT)
    def check(rest: str) -> None:
        parsed_or_refused(grammar, command_type, f"{head} {rest}")

    check()
