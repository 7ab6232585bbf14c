"""Populating a simulated workspace from switchman.yml: channels, the people it names, user groups.

The console needs somebody to be; people the config names by id (rotations) get a readable
name, and a small cast of developers fills the deployer and approver groups the config names.
"""

from __future__ import annotations

from bot.config.models import SwitchmanConfig
from bot.slack_sim.workspace import Workspace

# The console's cast: (id, name, time zone). Ids are Slack-shaped so config validation accepts them.
CAST = [
    ("U0ALICE", "alice", "Europe/Berlin"),
    ("U0BOB", "bob", "America/Chicago"),
    ("U0CAROL", "carol", "Europe/London"),
    ("U0DAVE", "dave", "Asia/Kolkata"),
]
DEVELOPERS = ["U0ALICE", "U0BOB", "U0DAVE"]
APPROVERS = ["U0CAROL", "U0BOB"]


def seed_workspace(workspace: Workspace, config: SwitchmanConfig) -> None:
    for user_id, name, tz in CAST:
        workspace.add_user(user_id, name, tz=tz)
    for service in config.services.values():
        workspace.add_channel(service.channel)
        if service.weekly_review is not None:
            workspace.add_channel(service.weekly_review.channel)
    if config.weekly_review is not None:
        workspace.add_channel(config.weekly_review.channel)
    for rotation in config.rotations.values():
        workspace.add_channel(rotation.channel)
        people = rotation.primaries + rotation.shadows + rotation.escalation.then
        for user_id in people:
            if user_id not in workspace.users:
                name = user_id.lower().removeprefix("u01").removeprefix("u0")
                workspace.add_user(user_id, name, tz=rotation.timezone)
        for handle in (rotation.usergroups.primary, rotation.usergroups.shadow):
            if handle and workspace.usergroup(handle) is None:
                workspace.add_usergroup(handle, [])
    for handle in _group_handles(config):
        if workspace.usergroup(handle) is None:
            members = APPROVERS if handle in _approver_groups(config) else DEVELOPERS
            workspace.add_usergroup(handle, members)
    workspace.add_channel("#general")


def _group_handles(config: SwitchmanConfig) -> set[str]:
    handles: set[str] = set()
    for service in config.services.values():
        for env in service.environments.values():
            handles |= {h for h in env.deployers + env.overriders if h.startswith("@")}
            handles |= {g.group for g in env.gates if g.kind == "approval" and g.group.startswith("@")}
            handles |= {g.owner for g in env.gates if g.owner and g.owner.startswith("@")}
            handles |= {env.trust.with_} if env.trust is not None and env.trust.with_.startswith("@") else set()
            handles |= {c.group for c in (env.risk.medium, env.risk.high)
                        if c is not None and c.group and c.group.startswith("@")}
    return handles


def _approver_groups(config: SwitchmanConfig) -> set[str]:
    groups: set[str] = set()
    for service in config.services.values():
        for env in service.environments.values():
            groups |= {g.group for g in env.gates if g.kind == "approval"}
            groups |= {c.group for c in (env.risk.medium, env.risk.high) if c is not None and c.group}
            groups |= {h for h in env.overriders if h.startswith("@")}
            groups |= {env.trust.with_} if env.trust is not None and env.trust.with_.startswith("@") else set()
    return groups
