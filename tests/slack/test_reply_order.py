"""Replies come in the order things happen: a refused request is told only that it was refused, never
"Requesting…" first; an allowed one hears "Requesting…", then that its release started."""

from __future__ import annotations

from bot.slack_sim.stack import Stack

ALICE, CAROL = "U0ALICE", "U0CAROL"  # alice deploys (@api-devs); carol is no deployer in the example config


def ephemerals(stack: Stack, user: str) -> list[str]:
    return [e.text for e in stack.workspace.events if e.kind == "ephemeral" and e.user == user]


async def test_a_refused_deploy_is_only_refused(stack: Stack) -> None:
    delivery = await stack.slack.slash_command(CAROL, "/deploy", "api v2 to production", channel="#api-releases")
    await stack.settle()

    assert delivery.status == 200
    said = ephemerals(stack, CAROL)
    assert len(said) == 1 and said[0].startswith(":no_entry: you are not allowed to deploy to production")
    assert stack.api.calls_of("chat.postMessage") == []


async def test_a_refused_rollback_is_only_refused(stack: Stack) -> None:
    await stack.slack.slash_command(CAROL, "/rollback", "api production", channel="#api-releases")
    await stack.settle()

    said = ephemerals(stack, CAROL)
    assert len(said) == 1 and said[0].startswith(":no_entry: you are not allowed to deploy to production")


async def test_an_allowed_deploy_hears_requesting_then_started(stack: Stack) -> None:
    await stack.slack.slash_command(ALICE, "/deploy", "api v1.4.2 to staging", channel="#api-releases")
    await stack.settle()

    assert ephemerals(stack, ALICE) == [":hourglass_flowing_sand: Requesting api `v1.4.2` → staging…",
                                        ":rocket: Release #1 started; follow it in its thread."]
