"""The one line a short error ends with: where the full usage is (`/deploy help` for the full usage)."""

from __future__ import annotations

import re

_COMMAND = re.compile(r"`(/[a-z-]+)")


def help_hint(usage: str) -> str:
    """"`/deploy help` for the full usage." for a usage text whose first command is `/deploy`."""
    match = _COMMAND.search(usage)
    if match is None:
        return "`help` shows the full usage."
    return f"`{match.group(1)} help` for the full usage."
