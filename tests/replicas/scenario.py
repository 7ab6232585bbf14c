"""The workspace, configuration and traffic the replica tests share: services deployed over a canary
with a bake (so every stage is dispatched, then verified), a rotation that escalates after 2 s, and
signed Slack deliveries spread over the replicas, a share of them delivered again as Slack retries."""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.slack.ids import ActionId
from bot.slack_sim.interactions import Delivery, SlackSide
from bot.slack_sim.web_api import SlackWebApi
from bot.slack_sim.workspace import BOT_USER_ID, SimMessage, Workspace
from tests.replicas.cluster import Replica

BOT_TOKEN = "xoxb-4242-4242-replicatestsecret"
SIGNING_SECRET = "fedcba9876543210fedcba9876543210"
GITHUB_TOKEN = "ghp_" + "r" * 36
USERS = {"U0ALICE": "alice", "U0BOB": "bob", "U0CAROL": "carol", "U01OPS1": "ops1", "U01OPS2": "ops2",
         "U01LEAD": "lead"}
DEPLOYERS = ["U0ALICE", "U0BOB", "U0CAROL"]
ROTATION = "ops"
RELAY = "relay"  # hands over during the test
APOLOGY = "Something went wrong"


def config_text(github_url: str, services: Sequence[str], approved: Sequence[str] = (),
                handoff_minute: int | None = None) -> str:
    """Each service deploys to staging over two canary stages with a 1 s bake; `approved` ones need an
    approval from @sre first. With `handoff_minute`, the rotation `relay` hands over every hour at it."""
    approval = '\n          - {approval: {count: 1, group: "@sre"}}'
    blocks = "".join(f"""
  {name}:
    channel: "#{name}-releases"
    provider: gh
    repo: acme/api
    workflow: deploy-{name}.yml
    environments:
      staging:
        strategy: canary
        stages: [50, 100]
        bake: 1s
        gates:
          - ci_green
          - not_locked{approval if name in approved else ""}
""" for name in services)
    return f"""
providers:
  gh: {{kind: github_actions, api_url: "{github_url}", token_env: GITHUB_TOKEN, timeout: 3s, retries: 1}}
services:{blocks}
rotations:
  {ROTATION}:
    channel: "#ops-oncall"
    timezone: UTC
    handoff: {{every: week, day: monday, at: "10:00"}}
    primaries: [U01OPS1, U01OPS2]
    escalation: {{ack_within: 2s, then: [U01LEAD]}}
""" + ("" if handoff_minute is None else f"""
  {RELAY}:
    channel: "#relay-oncall"
    timezone: UTC
    handoff: {{every: hour, at: "00:{handoff_minute:02d}"}}
    reminder_before: 1m
    primaries: [U01OPS1, U01OPS2]
""")


def workspace_for(services: Sequence[str]) -> Workspace:
    workspace = Workspace()
    for user, name in USERS.items():
        workspace.add_user(user, name)
    for name in services:
        workspace.add_channel(f"#{name}-releases")
    workspace.add_channel("#ops-oncall")
    workspace.add_channel("#relay-oncall")
    workspace.add_usergroup("sre", list(DEPLOYERS))
    return workspace


@dataclass(frozen=True)
class Command:
    user: str
    command: str
    text: str
    channel: str
    retried: bool = False  # Slack delivers it again (same body, X-Slack-Retry-Num: 1) to another replica

    @property
    def deliveries(self) -> int:
        return 2 if self.retried else 1


def fill(commands: list[Command], total: int, services: Sequence[str]) -> list[Command]:
    """`commands`, then read-only commands (`/oncall`, `/deploy status`) until `total` deliveries."""
    out = list(commands)
    count = sum(c.deliveries for c in out)
    for k in itertools.count():
        if count >= total:
            return out
        retried = k % 4 == 0 and total - count >= 2
        user = DEPLOYERS[k % len(DEPLOYERS)]
        if k % 2:
            command = Command(user, "/oncall", "", "#ops-oncall", retried)
        else:
            service = services[k % len(services)]
            command = Command(user, "/deploy", f"status {service}", f"#{service}-releases", retried)
        out.append(command)
        count += command.deliveries
    raise AssertionError("unreachable")


def sides_for(api: SlackWebApi, replicas: Sequence[Replica]) -> list[SlackSide]:
    """One Slack sender per replica, trigger ids never repeating across them."""
    sides = [SlackSide(api, f"{r.url}/slack/events", SIGNING_SECRET) for r in replicas]
    for k, side in enumerate(sides):
        side._ids = itertools.count(1 + 1_000_000 * k)
    return sides


async def deliver(commands: Sequence[Command], sides: Sequence[SlackSide], answers: list[Delivery],
                  *, at_once: int = 8) -> None:
    """Each command to the next replica in turn; a retried one again, byte for byte, to the one after."""
    gate = asyncio.Semaphore(at_once)

    async def one(k: int, command: Command) -> None:
        async with gate:
            side = sides[k % len(sides)]
            index = len(side.sent)  # the body is recorded before the first await of the delivery
            answers.append(await side.slash_command(command.user, command.command, command.text,
                                                    channel=command.channel))
            if command.retried:
                body, content_type = side.sent[index]
                again = sides[(k + 1) % len(sides)]
                answers.append(await again.post(body, content_type, retry_num=1, record=False))

    await asyncio.gather(*(one(k, c) for k, c in enumerate(commands)))


def refused(answers: Sequence[Delivery]) -> list[str]:
    """Answers that are not a plain 200, or that apologise for an error."""
    return [f"{a.status}: {a.body[:120]}" for a in answers if a.status != 200 or APOLOGY in a.body]




def config_file(tmp_path: Path, github_url: str, services: Sequence[str], approved: Sequence[str] = (),
                handoff_minute: int | None = None) -> Path:
    path = tmp_path / "switchman.yml"
    path.write_text(config_text(github_url, services, approved, handoff_minute))
    return path


def posted_twice(workspace: Workspace) -> list[str]:
    """Outbox rows that Slack shows more than once (each post carries its outbox id as metadata)."""
    mine = [m for m in workspace.messages.values() if m.user == BOT_USER_ID]
    rows = Counter(((m.metadata or {}).get("event_payload") or {}).get("outbox_id") for m in mine)
    return [f"outbox row {row} posted {n} times" for row, n in rows.items() if row is not None and n > 1]


def approve_button(workspace: Workspace, channel: str, ts: str) -> tuple[SimMessage, dict[str, Any], str] | None:
    """The Approve button in a release's thread: its message, the button and its block id."""
    for message in sorted(workspace.thread(channel, ts), key=lambda m: m.ts, reverse=True):
        for block in message.blocks:
            for element in block.get("elements", []):
                if element.get("action_id") == ActionId.APPROVE:
                    return message, element, str(block.get("block_id") or "")
    return None


async def click_approve(sides: Sequence[SlackSide], k: int, user: str, found: tuple[SimMessage, dict[str, Any], str],
                        answers: list[Delivery]) -> None:
    """Approve through replica `k`, then Slack's retry of the same click (byte for byte) through the next."""
    message, button, block_id = found
    side = sides[k % len(sides)]
    index = len(side.sent)
    answers.append(await side.block_action(user, message, action_id=ActionId.APPROVE, block_id=block_id,
                                           value=button.get("value")))
    body, content_type = side.sent[index]
    answers.append(await sides[(k + 1) % len(sides)].post(body, content_type, retry_num=1, record=False))
