"""The App Home tab as Block Kit: what this Switchman manages, from the configuration.

Data in (the config, the viewer), a `home` view dict out; no Slack calls here.
"""

from __future__ import annotations

from typing import Any

from bot.config.models import SwitchmanConfig
from bot.slack.replies import section

MAX_SERVICES = 40  # keeps the view well under Slack's 100-block limit


def home_view(config: SwitchmanConfig, viewer: str) -> dict[str, Any]:
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": "Switchman"}},
        section(f"Hi <@{viewer}>. Release with `/deploy`, undo with `/rollback`, see who carries the pager "
                "with `/oncall`. Each command answers `help`."),
        {"type": "divider"},
        {"type": "header", "text": {"type": "plain_text", "text": "Services"}},
    ]
    services = sorted(config.services.items())
    for name, service in services[:MAX_SERVICES]:
        envs = " → ".join(f"`{env}`" for env in service.environments)
        links = " · ".join(f"<{url}|{label}>" for label, url in
                           (("runbook", service.runbook), ("rollback plan", service.rollback_plan)) if url)
        line = f"*{name}* — {envs}\nreleases in {_channel(service.channel)}"
        blocks.append(section(line + (f" · {links}" if links else "")))
    if len(services) > MAX_SERVICES:
        blocks.append(section(f"…and {len(services) - MAX_SERVICES} more: `/deploy status` lists them all."))
    if not services:
        blocks.append(section("No services are configured yet."))
    if config.rotations:
        blocks += [{"type": "divider"}, {"type": "header", "text": {"type": "plain_text", "text": "Rotations"}}]
        for name, rotation in sorted(config.rotations.items())[:MAX_SERVICES]:
            blocks.append(section(
                f"*{name}* — {len(rotation.primaries)} primaries, {len(rotation.shadows)} shadows, "
                f"handoff every {rotation.handoff.every} at {rotation.handoff.at} {rotation.timezone}, "
                f"in {_channel(rotation.channel)}"))
    return {"type": "home", "blocks": blocks}


def _channel(ref: str) -> str:
    return ref if ref.startswith("#") else f"<#{ref}>"
