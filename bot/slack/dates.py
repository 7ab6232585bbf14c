"""Instants in Slack text: `<!date^…>` renders in each reader's own time zone, with a UTC fallback."""

from __future__ import annotations

from datetime import datetime


def slack_date(instant: datetime | None) -> str:
    if instant is None:
        return "an unknown time"
    stamp = int(instant.timestamp())
    return f"<!date^{stamp}^{{date_short_pretty}} {{time}}|{instant:%Y-%m-%d %H:%M} UTC>"
