"""A form's select is filled in the console by its label ("api → staging"), not by the value behind it."""

from __future__ import annotations

from bot.console.block_text import InputField
from bot.console.form_choice import choose, label_of

TARGET = InputField(number=1, block_id="target", action_id="target", label="Service and environment",
                    kind="static_select", options=(("api → staging", "api/staging"),
                                                   ("api → production", "api/production"),
                                                   ("web → production", "web/production")),
                    optional=False)


def test_a_label_as_typed_picks_its_option() -> None:
    assert choose(TARGET, "api → staging") == ("api → staging", "api/staging")
    assert choose(TARGET, "API -> Production") == ("api → production", "api/production")  # -> for →, any case
    assert choose(TARGET, "web") == ("web → production", "web/production")  # the start of one label


def test_a_hidden_value_or_an_ambiguous_start_is_refused_with_the_choices() -> None:
    assert choose(TARGET, "api/staging") == ("input 1 has no choice 'api/staging'; its choices: api → staging | "
                                             "api → production | web → production")
    refusal = choose(TARGET, "api")
    assert isinstance(refusal, str) and "the start of several choices" in refusal


def test_the_submitted_option_carries_its_label() -> None:
    assert label_of(TARGET, "api/production") == "api → production"
