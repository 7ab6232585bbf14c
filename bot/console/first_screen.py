"""What the console shows first, and `/who`: who you are, what is configured, who is who, what to try.

A newcomer sees the services with their environments, the rotations, the people and the user
groups (the groups the config's deployers, approvers and rotations name), then three commands
to try, taken from the configuration so they work as typed.
"""

from __future__ import annotations

from bot.config.models import SwitchmanConfig
from bot.slack_sim.workspace import SimUser, SimUsergroup, Workspace


def first_screen(config: SwitchmanConfig, workspace: Workspace, *, user: str, channel: str) -> list[str]:
    me = workspace.users[user]
    lines = [f"Switchman console — you are @{me.name} ({me.tz}), typing in #{workspace.channels[channel].name}.",
             "Services:"]
    for name, service in config.services.items():
        envs = ", ".join(service.environments) or "no environments"
        lines.append(f"  {name} ({service.channel}, provider {service.provider}): {envs}")
    if config.rotations:
        lines.append("Rotations:")
    for name, rotation in config.rotations.items():
        primaries = " ".join(_mention(workspace, u) for u in rotation.primaries)
        shadows = " ".join(_mention(workspace, u) for u in rotation.shadows) or "none"
        pages_for = f"; pages for {', '.join(rotation.services)}" if rotation.services else ""
        lines.append(f"  {name} ({rotation.channel}, {rotation.timezone}): primaries {primaries}; "
                     f"shadows {shadows}{pages_for}")
    lines.append("People: " + " ".join("@" + u.name for u in _people(workspace)))
    lines.append("Groups:" + ("" if workspace.usergroups else " none"))
    lines.extend(f"  @{g.handle}: {_members(workspace, g.users)}" for g in _groups(workspace))
    lines.append("Try:")
    lines.extend("  " + example for example in _examples(config))
    lines.append("/who lists people and their groups; /help the console's own commands; /quit leaves.")
    return lines


def who(workspace: Workspace) -> list[str]:
    """One line per person: name, id, time zone, and the user groups they are in."""
    lines = []
    for user in _people(workspace):
        groups = [f"@{g.handle}" for g in _groups(workspace) if user.id in g.users]
        lines.append(f"  @{user.name:<10} {user.id:<12} {user.tz:<16} {', '.join(groups) or '(no groups)'}")
    for group in _groups(workspace):
        lines.append(f"  @{group.handle}: {_members(workspace, group.users)}")
    return lines


def _examples(config: SwitchmanConfig) -> list[str]:
    service, first_env = next(((name, next(iter(s.environments), "ENV")) for name, s in config.services.items()),
                              ("SERVICE", "ENV"))
    examples = [f"/deploy {service} v1.4.2 to {first_env}"]
    rotation = next(iter(config.rotations), None)
    examples.append(f"/oncall {rotation}" if rotation else "/oncall help")
    examples.append(f'/alert fire {service} "error ratio high"   (as Alertmanager would: pages the on-call pair '
                    "and fails a baking release's verification)")
    return examples


def _people(workspace: Workspace) -> list[SimUser]:
    return [u for u in workspace.users.values() if not u.is_bot]


def _groups(workspace: Workspace) -> list[SimUsergroup]:
    return sorted(workspace.usergroups.values(), key=lambda g: g.handle)  # created from a set: sort for a stable order


def _mention(workspace: Workspace, user_id: str) -> str:
    user = workspace.users.get(user_id)
    return "@" + user.name if user else user_id


def _members(workspace: Workspace, users: list[str]) -> str:
    return ", ".join(_mention(workspace, u) for u in users) or "(empty until the rotation's next sync)"
