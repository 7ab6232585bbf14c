"""Block Kit for short replies: usage, errors, apologies. Data in, Slack payload dicts out."""

from __future__ import annotations

from typing import Any

from bot.commands.help_hint import help_hint

SECTION_LIMIT = 3000


def section(text: str) -> dict[str, Any]:
    if len(text) > SECTION_LIMIT:
        text = text[: SECTION_LIMIT - 1] + "…"
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def ephemeral(text: str, *extra_sections: str) -> dict[str, Any]:
    """A reply only the requester sees: the ack body of a slash command, or a response_url post."""
    blocks = [section(text)] + [section(s) for s in extra_sections if s]
    return {"response_type": "ephemeral", "text": text, "blocks": blocks}


def usage(text: str) -> dict[str, Any]:
    return ephemeral(text)


def bad_input(message: str, usage_text: str | None) -> dict[str, Any]:
    """What was wrong on one line, and where the full usage is on the next (never the whole usage again)."""
    one_line = " ".join(message.split())
    if not usage_text:
        return ephemeral(f":warning: {one_line}")
    return ephemeral(f":warning: {one_line}\n{help_hint(usage_text)}")


def not_allowed(message: str) -> dict[str, Any]:
    return ephemeral(f":no_entry: {message}")


def blocked(message: str) -> dict[str, Any]:
    return ephemeral(f":construction: {message}")


def apology(correlation_id: str) -> dict[str, Any]:
    return ephemeral(f":boom: Something went wrong on our side and nothing was changed. "
                     f"If it keeps happening, quote error id `{correlation_id}` to your Switchman admins.")


def not_built(command: str, what: str) -> dict[str, Any]:
    return ephemeral(f":hourglass: `{command} {what}` is understood but not available in this Switchman build yet. "
                     f"Nothing was changed. Try `{command} help` for what works.")
