"""Reading a replica's structured log in the leadership tests."""

from __future__ import annotations

import json


def logged(replica_log: list[str], event: str) -> bool:
    """True when the replica logged `event` (the JSON log line's `event`)."""
    return any(line.startswith("{") and json.loads(line).get("event") == event for line in replica_log)
