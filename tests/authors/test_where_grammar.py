"""`/deploy where SHA|REF|me` parses to what it names; anything else is one line and the usage."""

from __future__ import annotations

import pytest

from bot.commands import deploy as grammar
from bot.errors import BadInput


@pytest.mark.parametrize(("text", "commit"), [
    ("where 9f9f9f9", "9f9f9f9"),
    ("where v1.4.2", "v1.4.2"),
    ("where release/2026-11", "release/2026-11"),
    ("  where   me ", None),
    ("where ME", None),
])
def test_where_names_a_commit_or_me(text: str, commit: str | None) -> None:
    parsed = grammar.parse(text)
    assert parsed == grammar.DeployWhere(commit)
    assert isinstance(parsed, grammar.DeployWhere) and parsed.me is (commit is None)


@pytest.mark.parametrize(("text", "problem"), [
    ("where", "takes one commit SHA (7 to 40 hex digits), a released ref"),
    ("where a b", "takes one commit SHA (7 to 40 hex digits), a released ref"),
    ("where me --all", "unknown option --all"),
    ("where ..", "is not a ref"),
    ("where " + "x" * 300, "at most 255 bytes"),
])
def test_bad_where_input_says_what_is_wrong_with_the_usage(text: str, problem: str) -> None:
    with pytest.raises(BadInput) as caught:
        grammar.parse(text)
    assert problem in str(caught.value) and "\n" not in str(caught.value)
    assert caught.value.usage == grammar.USAGE


def test_the_usage_lists_where() -> None:
    assert "`/deploy where SHA|REF|me`" in grammar.USAGE and "where" in grammar.SUBCOMMANDS
