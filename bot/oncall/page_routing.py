"""Where a page goes: which rotations an alert or event belongs to, and whether the shadow is paged.

Pure functions over the configuration; who is on call comes from `roster.current_shift`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.config.models import Rotation, SwitchmanConfig

BUSINESS_START = time(9, 0)
BUSINESS_END = time(17, 0)
BUSINESS_HOURS = "09:00–17:00 Mon–Fri"


def rotations_for_alert(config: SwitchmanConfig, labels: Mapping[str, str]) -> list[str]:
    """The rotation its `rotation` label names, else those whose `services` include its `service` label."""
    named = labels.get("rotation")
    if named and named in config.rotations:
        return [named]
    service = labels.get("service")
    return config.rotations_for_service(service) if service else []


def known_service(config: SwitchmanConfig, name: str | None) -> str | None:
    return name if name and name in config.services else None


def service_for_event(config: SwitchmanConfig, rotation: str, component: str | None) -> str | None:
    """An event's service: its `component` when that is a configured service, else the rotation's only one."""
    if known_service(config, component):
        return component
    services = config.rotations[rotation].services
    return services[0] if len(services) == 1 else None


def shadow_excluded(rotation: Rotation, at: datetime, zone: str) -> str | None:
    """Why the shadow is not paged at `at` (None: page them).

    With `shadow_hours: business` a shadow is paged only 09:00–17:00 Monday to Friday in their
    own time zone (from their Slack profile); a zone Switchman cannot read falls back to the
    rotation's.
    """
    if rotation.shadow_hours != "business":
        return None
    try:
        local = at.astimezone(ZoneInfo(zone))
    except (ZoneInfoNotFoundError, ValueError, OSError):
        zone = rotation.timezone
        local = at.astimezone(ZoneInfo(zone))
    if local.weekday() < 5 and BUSINESS_START <= local.time() < BUSINESS_END:
        return None
    return (f"outside the shadow's business hours ({BUSINESS_HOURS}): it was "
            f"{local:%a %H:%M} in {zone}")
