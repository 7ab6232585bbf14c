"""The two steps of a rollback drill (§2 `/rollback drill`), as stored on the drill's release row.

A drill is one release of kind `drill` with two stages: stage 0 deploys the previous verified
release ("back"), stage 1 the release that ran before the drill ("forward"); each is verified
before the next. `detail["drill"]` holds both targets, chosen when the drill was requested, so a
restart or a new leader carries on with the same ones.
"""

from __future__ import annotations

from typing import Any

from bot.release.models import Release, ReleaseKind

BACK, FORWARD = 0, 1
NAMES = {BACK: "back", FORWARD: "forward"}


def is_drill(release: Release) -> bool:
    return release.kind == ReleaseKind.DRILL


def step(release: Release, index: int) -> dict[str, Any]:
    """`{"ref", "sha", "release_id"}` of the drill's step `index` (0: back, 1: forward)."""
    drill = (release.detail or {}).get("drill") or {}
    found = drill.get(NAMES.get(index, "forward"))
    if not isinstance(found, dict):
        return {"ref": release.ref, "sha": release.sha or release.ref, "release_id": None}
    return found


def label(release: Release, index: int) -> str:
    target = step(release, index)
    if index == BACK:
        return f"Drill step 1/2 (roll back to `{target['ref']}`)"
    return f"Drill step 2/2 (roll forward to `{target['ref']}`)"
