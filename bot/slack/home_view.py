"""The App Home tab as Block Kit (§8): the viewer's services, releases in flight, their next on-call
shift and the delivery trend chart, then the rotations.

Data in (the config, a `HomeOverview`, the chart or why there is none), a `home` view dict out; no
Slack calls here. Sizes stay inside a Home tab's limits (100 blocks, 3000 characters a section).
"""

from __future__ import annotations

from typing import Any

from bot.config.models import SwitchmanConfig
from bot.home.overview import HomeOverview, InFlight, NextShift
from bot.slack.chart_upload import Chart
from bot.slack.dates import slack_date
from bot.slack.replies import section

MAX_SERVICES = 30
MAX_ROTATIONS = 20
STATE_ICONS = {"queued": ":double_vertical_bar:", "requested": ":inbox_tray:", "gating": ":mag:",
               "awaiting_approval": ":raised_hand:", "rolling_out": ":rocket:", "verifying": ":stethoscope:",
               "paused": ":pause_button:"}


def home_view(config: SwitchmanConfig, overview: HomeOverview, *, chart: Chart | None = None,
              chart_missing: str | None = None) -> dict[str, Any]:
    viewer = overview.viewer
    blocks: list[dict[str, Any]] = [
        _header("Switchman"),
        section(f"Hi <@{viewer}>. Release with `/deploy`, undo with `/rollback`, see who carries the pager "
                "with `/oncall`. Each command answers `help`."),
        {"type": "divider"},
        _header("Your services" if not overview.all_services else "Services"),
    ]
    if overview.all_services and config.services:
        blocks.append(_context("You are not a deployer, overrider or on-call member of any service, so every "
                               "service is shown."))
    for name in overview.services[:MAX_SERVICES]:
        service = config.services[name]
        envs = " → ".join(f"`{env}`" for env in service.environments)
        links = " · ".join(f"<{url}|{label}>" for label, url in
                           (("runbook", service.runbook), ("rollback plan", service.rollback_plan)) if url)
        line = f"*{name}* — {envs}\nreleases in {_channel(service.channel)}"
        blocks.append(section(line + (f" · {links}" if links else "")))
    if len(overview.services) > MAX_SERVICES:
        blocks.append(section(f"…and {len(overview.services) - MAX_SERVICES} more: `/deploy status` lists them all."))
    if not config.services:
        blocks.append(section("No services are configured yet."))
    blocks += [{"type": "divider"}, _header("Releases in flight"), section(_in_flight(overview))]
    blocks += [{"type": "divider"}, _header("Your next on-call shift"), section(_shift(overview))]
    blocks += [{"type": "divider"}, _header("Delivery trend, last 12 weeks")]
    if chart is not None:
        blocks.append({"type": "image", "slack_file": {"id": chart.file_id}, "alt_text": chart.alt_text[:2000],
                       "title": {"type": "plain_text", "text": chart.title[:2000]}})
        blocks.append(_context("Weekly production figures; definitions in docs/metrics.md. "
                               "Numbers: `/deploy metrics`."))
    else:
        blocks.append(section(f":warning: The trend chart is not shown: {chart_missing or 'it is not available'}. "
                              "It is tried again the next time you open this tab; the figures are in "
                              "`/deploy metrics`."))
    if config.rotations:
        blocks += [{"type": "divider"}, _header("Rotations")]
        for name, rotation in sorted(config.rotations.items())[:MAX_ROTATIONS]:
            blocks.append(section(
                f"*{name}* — {len(rotation.primaries)} primaries, {len(rotation.shadows)} shadows, "
                f"handoff every {rotation.handoff.every} at {rotation.handoff.at} {rotation.timezone}, "
                f"in {_channel(rotation.channel)}"))
    return {"type": "home", "blocks": blocks}


def _in_flight(overview: HomeOverview) -> str:
    if not overview.in_flight:
        return "Nothing in flight for these services."
    lines = [_release_line(r) for r in overview.in_flight]
    if overview.more_in_flight:
        lines.append(f"…and {overview.more_in_flight} more: `/deploy status`")
    text = "\n".join(lines)
    return text if len(text) <= 2900 else text[:2899] + "…"


def _release_line(r: InFlight) -> str:
    thread = f"<{r.permalink}|#{r.id}>" if r.permalink else f"#{r.id}"
    kind = "rollback of " if r.kind == "rollback" else ""
    state = r.state.replace("_", " ")
    return (f"{STATE_ICONS.get(r.state, ':grey_question:')} {thread} {kind}*{r.service}* `{r.ref[:60]}` → "
            f"{r.environment} — {state}, by <@{r.requested_by}>")


def _shift(overview: HomeOverview) -> str:
    if not overview.rotations:
        return "You are not on call: you are in no rotation."
    shift: NextShift | None = overview.next_shift
    if shift is None:
        return f"You are not on call in the next 26 weeks ({', '.join(overview.rotations)})."
    partner = f"<@{shift.partner}>" if shift.partner else "nobody"
    other = "shadow" if shift.role == "primary" else "primary"
    when = (f"on call *now*, until {slack_date(shift.end)}" if shift.now
            else f"{slack_date(shift.start)} → {slack_date(shift.end)}")
    return f"*{shift.rotation}* {shift.role}: {when}, with {partner} as {other}."


def _header(text: str) -> dict[str, Any]:
    return {"type": "header", "text": {"type": "plain_text", "text": text[:150]}}


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text[:3000]}]}


def _channel(ref: str) -> str:
    return ref if ref.startswith("#") else f"<#{ref}>"
