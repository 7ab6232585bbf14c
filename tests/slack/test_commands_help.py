"""Every command answers help with its usage, and bad input in two lines, through signed HTTP to the real app."""

from __future__ import annotations

import pytest

from bot.commands import deploy, oncall, rollback
from bot.slack_sim.stack import Stack

USAGES = {"/deploy": deploy.USAGE, "/rollback": rollback.USAGE, "/oncall": oncall.USAGE}


@pytest.mark.parametrize("command", sorted(USAGES))
async def test_help_answers_with_the_usage_in_the_ack(stack: Stack, command: str) -> None:
    delivery = await stack.slack.slash_command("U0ALICE", command, "help", channel="#api-releases")

    assert delivery.status == 200
    body = delivery.json()
    assert body["response_type"] == "ephemeral"
    assert body["text"] == USAGES[command]
    # The usage is the reply itself: nothing was posted to the channel or sent through the Web API.
    assert [e.kind for e in stack.workspace.events] == ["ephemeral"]
    assert stack.api.calls_of("chat.postMessage") == []


@pytest.mark.parametrize(("command", "text", "complaint"), [
    ("/deploy", "api", "needs an environment"),
    ("/deploy", "api v1 to", "expected `/deploy SERVICE [REF] to ENV`"),
    ("/deploy", "lock api production", "a lock needs a reason"),
    ("/deploy", "api to staging --strategy yolo", "--strategy must be one of"),
    ("/deploy", "cancel banana", "not a release id"),
    ("/deploy", "api to staging --reason \"unbalanced", "quote"),
    ("/rollback", "api", "expected `/rollback SERVICE ENV"),
    ("/oncall", "schedule", "expected `/oncall schedule ROTATION"),
    ("/oncall", "swap api-oncall bob tomorrow", "not a Slack user"),
    ("/oncall", "frobnicate the pager", "is not a sub-command"),
])
async def test_bad_input_says_what_was_wrong_and_where_the_usage_is(stack: Stack, command: str, text: str,
                                                              complaint: str) -> None:
    delivery = await stack.slack.slash_command("U0BOB", command, text, channel="#api-releases")

    assert delivery.status == 200
    body = delivery.json()
    assert body["response_type"] == "ephemeral"
    assert complaint in body["text"]
    lines = body["text"].splitlines()
    assert len(lines) == 2 and lines[1] == f"`{command} help` for the full usage."


@pytest.mark.parametrize(("command", "text", "suggestion"), [
    ("/deploy", "api to prod", "did you mean `production`?"),
    ("/deploy", "api v2 to prodution", "did you mean `production`?"),
    ("/deploy", "apj v2 to staging", "did you mean `api`?"),
    ("/deploy", "statsu", "did you mean `/deploy status`?"),
    ("/rollback", "api prod", "did you mean `production`?"),
    ("/oncall", "schedule api-oncal", "did you mean `api-oncall`?"),
    ("/oncall", "shedule api-oncall", "did you mean `/oncall schedule`?"),
    ("/oncall", "schedul", "did you mean `/oncall schedule`?"),
])
async def test_a_near_miss_gets_the_closest_valid_choice(stack: Stack, command: str, text: str,
                                                         suggestion: str) -> None:
    delivery = await stack.slack.slash_command("U0ALICE", command, text, channel="#api-releases")
    await stack.settle()

    # Checks the configuration alone can make answer in the ack; the others on the response_url.
    answer = delivery.json()["text"] if delivery.body else stack.workspace.events[-1].text
    lines = answer.splitlines()
    assert suggestion in lines[0] and lines[1] == f"`{command} help` for the full usage."
    assert stack.api.calls_of("chat.postMessage") == []  # nothing was started


async def test_a_far_miss_gets_no_guess(stack: Stack) -> None:
    delivery = await stack.slack.slash_command("U0ALICE", "/deploy", "api to qa", channel="#api-releases")

    text = delivery.json()["text"]
    assert "has no environment `qa`" in text and "did you mean" not in text
    assert "`staging`, `production`" in text  # the valid choices are still listed


async def test_a_wrongly_signed_request_is_refused_and_reaches_no_listener(stack: Stack) -> None:
    delivery = await stack.slack.slash_command("U0ALICE", "/deploy", "help", channel="#api-releases",
                                               signature="v0=" + "0" * 64)

    assert delivery.status == 401
    assert stack.workspace.events == []
