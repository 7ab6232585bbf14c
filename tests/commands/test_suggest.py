"""The closest valid choice: typos and abbreviations are matched, far-off words are not guessed at."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.commands import deploy
from bot.commands.help_hint import help_hint
from bot.commands.suggest import closest, did_you_mean, edit_distance
from bot.config.loader import load_config
from bot.errors import BadInput
from bot.release.access import check_target
from bot.settings import EXAMPLE_CONFIG
from bot.slack import replies

ENVIRONMENTS = ["staging", "production"]


def test_typos_and_abbreviations_find_their_choice() -> None:
    assert closest("prod", ENVIRONMENTS) == "production"
    assert closest("prodution", ENVIRONMENTS) == "production"
    assert closest("Staging", ENVIRONMENTS) == "staging"
    assert closest("stagign", ENVIRONMENTS) == "staging"
    assert closest("statsu", ["status", "history", "lock"]) == "status"


def test_far_or_ambiguous_words_get_no_suggestion() -> None:
    assert closest("qa", ENVIRONMENTS) is None
    assert closest("p", ENVIRONMENTS) is None  # one letter is too little to go on
    assert closest("st", ["status", "staging"]) is None  # the start of two choices: no guess
    assert closest("anything", []) is None
    assert did_you_mean("qa", ENVIRONMENTS) == ""
    assert did_you_mean("prod", ENVIRONMENTS) == " — did you mean `production`?"


@given(st.text(max_size=40), st.lists(st.text(max_size=20), max_size=8))
def test_a_suggestion_is_always_one_of_the_choices(word: str, choices: list[str]) -> None:
    match = closest(word, choices)
    assert match is None or match in choices


def test_the_help_hint_names_the_usage_commands_help() -> None:
    assert help_hint("*`/deploy`* — release a service") == "`/deploy help` for the full usage."
    assert help_hint("*`/oncall`* — on call") == "`/oncall help` for the full usage."


def test_edit_distance_counts_slips_and_swaps() -> None:
    assert edit_distance("apj", "api") == 1
    assert edit_distance("stagign", "staging") == 1  # a swap of neighbours is one slip
    assert edit_distance("", "abc") == 3
    assert closest("apj", ["api", "web"]) == "api"
    assert closest("ab", ["api", "web"]) is None  # two letters, one of them wrong: too little to go on


EXAMPLE = load_config(EXAMPLE_CONFIG)
NAMES = st.text(alphabet=st.characters(codec="ascii", categories=["L", "N", "Pd"]), min_size=1, max_size=64)


@given(NAMES, NAMES)
def test_a_wrong_target_is_refused_in_two_lines_naming_the_usage(service: str, environment: str) -> None:
    try:
        check_target(EXAMPLE, service, environment, deploy.USAGE)
    except BadInput as exc:
        lines = replies.bad_input(exc.message, exc.usage)["text"].splitlines()
        assert len(lines) == 2 and lines[1] == "`/deploy help` for the full usage."
        suggested = [name for name in [*EXAMPLE.services, *EXAMPLE.services["api"].environments]
                     if f"did you mean `{name}`?" in lines[0]]
        assert len(suggested) <= 1
        return
    assert service in EXAMPLE.services and environment in EXAMPLE.services[service].environments
