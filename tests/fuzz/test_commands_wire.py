"""Arbitrary text as signed `/deploy`, `/rollback` and `/oncall` commands through the real Bolt app.

Every command gets a 200 with a reply (an ephemeral, or the form it opens), never an apology with an
error id or an ERROR log line; text the grammar refuses gets the usage and stores nothing. Text that
parses is a real command and may store what that command stores (a deploy of `api` to `staging`),
so only its answer is checked.
"""

from __future__ import annotations

from collections.abc import Iterator
from types import ModuleType

import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from bot.commands import deploy, oncall, rollback
from bot.errors import BadInput
from bot.slack.ids import Command
from tests.contracts.slack_contract import SlackContract
from tests.fuzz.bed import DATABASES, Bed, running_bed
from tests.fuzz.policy import fuzz
from tests.fuzz.strategies import COMMAND_TEXT, any_text
from tests.oncall.paging_scenario import API_KEY
from tests.release.scenario import SANDBOX, release_config

CONFIG = release_config(SANDBOX).replace("    services: [api]\n",
                                         f"    services: [api]\n    routing_keys: [{API_KEY}]\n")
# People in the workspace, deployers and approvers among them. (Slack signs commands of its own users only;
# an id users.info does not know is an interaction test's forgery, see test_interactions.py.)
USERS = st.sampled_from(["U0ALICE", "U0CAROL", "U01OPS1", "U01DEV1", "U0DAVE"])
GRAMMARS: dict[Command, ModuleType] = {Command.DEPLOY: deploy, Command.ROLLBACK: rollback, Command.ONCALL: oncall}


@pytest.fixture(scope="module", params=DATABASES)
def bed(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
        slack_contract: SlackContract) -> Iterator[Bed]:
    with running_bed(request, tmp_path_factory.mktemp("fuzz-commands"), slack_contract, config=CONFIG) as running:
        yield running


def refused_by_the_grammar(grammar: ModuleType, text: str) -> bool:
    try:
        grammar.parse(text)
    except BadInput:
        return True
    return False


def send(bed: Bed, command: Command, user: str, text: str) -> None:
    before, mark = bed.rows(), bed.mark()
    delivery = bed.run(bed.s.command(user, text, command=command.value))
    assert delivery.status == 200, (text, delivery)
    said = bed.said_since(mark)
    opened = [e for e in bed.s.stack.workspace.events[mark.events:] if e.kind == "view_open"]
    assert said or opened, f"no reply to {command} {text!r}"
    bed.assert_nothing_broke(mark, f"{command} {text}")
    answers = [e.text for e in bed.s.stack.workspace.events[mark.events:] if e.kind == "ephemeral"]
    if answers and all(a.startswith((":warning: ", ":no_entry: ")) for a in answers):
        assert bed.rows() == before, f"{command} {text!r} was refused ({answers[-1]!r}) but stored something"
    if not refused_by_the_grammar(GRAMMARS[command], text):
        event("parsed: stored something" if bed.rows() != before else "parsed: stored nothing")
    else:
        event("refused by the grammar")
        reply = delivery.json()
        assert reply["text"].startswith(":warning: "), reply
        assert reply["text"].endswith(f"`{command.value} help` for the full usage."), reply
        assert len(reply["text"].splitlines()) <= 2, reply
        assert bed.rows() == before, f"{command} {text!r} was refused but stored something"


@pytest.mark.parametrize("command", list(Command))
def test_any_text_of_a_command_is_answered_and_a_refusal_stores_nothing(bed: Bed, command: Command) -> None:
    @fuzz(40)
    @given(user=USERS, text=COMMAND_TEXT)
    def check(user: str, text: str) -> None:
        send(bed, command, user, text)

    check()


HEADS = [(Command.DEPLOY, head) for head in ["api staging", "api v1.0.0 to production", "lock api staging", "cancel",
                                             "why api", "history api", "metrics", "status", "unlock api staging"]] + [
    (Command.ROLLBACK, head) for head in ["api staging", "api production to", "api staging to #1"]] + [
    (Command.ONCALL, head) for head in ["page api-oncall", "ack", "resolve", "page", "swap api-oncall", "away",
                                        "cover api-oncall", "schedule api-oncall", "calendar", "api-oncall", "next",
                                        "shadow-stats"]]


@pytest.mark.parametrize(("command", "head"), HEADS)
def test_any_arguments_of_real_targets_are_answered(bed: Bed, command: Command, head: str) -> None:
    @fuzz(8)
    @given(user=USERS, rest=COMMAND_TEXT | st.lists(any_text(max_size=30), max_size=3).map(" ".join))
    def check(user: str, rest: str) -> None:
        send(bed, command, user, f"{head} {rest}")

    check()
