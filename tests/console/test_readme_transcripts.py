"""Regenerating the README's console transcripts: excerpts keep their anchors and their number of commands."""

from __future__ import annotations

import pytest

from bot.console.readme_transcripts import regenerate, update

PRINTED = """Switchman console — you are @alice
Services: api
alice in #api-releases> /deploy api to prod
    did you mean production?
alice in #api-releases> /as @carol
(you are now @carol)
carol in #api-releases> press Approve
    approved
carol in #api-releases> /wait 5m
(time passes: 5m)
    rolled back""".splitlines()


def test_each_excerpt_is_taken_again_from_its_anchor_and_the_last_runs_to_the_end() -> None:
    shown = ["Switchman console — you are @alice", "alice in #api-releases> /deploy api to prod", "    stale line",
             "…", "alice in #api-releases> /as @carol", "…", "carol in #api-releases> /wait 5m"]

    assert regenerate(shown, PRINTED) == [
        "Switchman console — you are @alice", "Services: api", "alice in #api-releases> /deploy api to prod",
        "    did you mean production?", "…", "alice in #api-releases> /as @carol", "(you are now @carol)", "…",
        "carol in #api-releases> /wait 5m", "(time passes: 5m)", "    rolled back"]


def test_a_leading_ellipsis_shows_only_the_tail() -> None:
    assert regenerate(["…", "carol in #api-releases> press Approve", "old"], PRINTED) == [
        "…", "carol in #api-releases> press Approve", "    approved", "carol in #api-releases> /wait 5m",
        "(time passes: 5m)", "    rolled back"]


def test_an_anchor_the_console_no_longer_prints_is_an_error() -> None:
    with pytest.raises(ValueError, match="no longer prints"):
        regenerate(["alice in #api-releases> /deploy nothing"], PRINTED)


def test_only_the_blocks_given_are_rewritten() -> None:
    readme = ("# Title\n```text\n$ .venv/bin/switchman console --script docs/console-a.txt --at 2026-11-18T10:00Z\n"
              "…\ncarol in #api-releases> /wait 5m\n```\nprose\n```text\n"
              "$ .venv/bin/switchman console --script docs/console-b.txt --at 2026-11-18T10:00Z\nkept\n```\n")

    new = update(readme, {("docs/console-a.txt", "2026-11-18T10:00Z"): "\n".join(PRINTED)})

    assert new == readme.replace("carol in #api-releases> /wait 5m\n",
                                 "carol in #api-releases> /wait 5m\n(time passes: 5m)\n    rolled back\n")
