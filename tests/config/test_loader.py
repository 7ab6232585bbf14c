"""switchman.yml is validated at start-up; every problem names file, line, key and what was expected."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.config.loader import load_config, parse_config
from bot.errors import ConfigError
from bot.settings import EXAMPLE_CONFIG

VALID = """\
providers:
  gh: {kind: github_actions, api_url: "https://api.github.com", token_env: GITHUB_TOKEN}
services:
  api:
    channel: "#api-releases"
    provider: gh
    environments:
      staging:
        bake: 5m
        gates: [ci_green]
rotations:
  ops:
    channel: "#ops"
    timezone: Europe/Berlin
    handoff: {every: week, day: monday, at: 10:00}
    primaries: [U01OPS1]
    shadows: [U01DEV1]
"""


def problems_of(text: str) -> list[tuple[int | None, str, str]]:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "switchman.yml")
    return [(p.line, p.key, p.message) for p in caught.value.problems]


def test_the_shipped_example_is_valid() -> None:
    config = load_config(EXAMPLE_CONFIG)
    production = config.services["api"].environments["production"]
    assert [g.kind for g in production.gates] == ["ci_green", "not_locked", "no_concurrent_deploy",
                                                  "promoted_from", "approval", "freeze_window", "oncall_present"]
    assert production.bake.total_seconds() == 600
    assert config.rotations["api-oncall"].handoff.at == "10:00"


def test_an_unquoted_time_of_day_stays_a_time() -> None:
    # YAML 1.1 reads 10:00 as the base-60 number 600; nobody writing a handoff means that.
    assert parse_config(VALID).rotations["ops"].handoff.at == "10:00"


def test_a_bare_number_duration_is_refused_at_its_line() -> None:
    [(line, key, message)] = problems_of(VALID.replace("bake: 5m", "bake: 600"))
    assert (line, key) == (9, "services.api.environments.staging.bake")
    assert "no unit" in message and "600s" in message


def test_a_duration_too_long_to_hold_is_refused_at_its_line() -> None:
    [(line, key, message)] = problems_of(VALID.replace("bake: 5m", "bake: 9999999999999999999999s"))
    assert (line, key) == (9, "services.api.environments.staging.bake")
    assert "too long a duration" in message


def test_unknown_keys_and_gates_are_named() -> None:
    text = VALID.replace("gates: [ci_green]", "gates: [ci_green, cl_green]\n        colour: red")
    found = problems_of(text)
    assert found[0][:2] == (10, "services.api.environments.staging.gates.1")
    assert "unknown kind 'cl_green'" in found[0][2] and "ci_green" in found[0][2]
    assert (11, "services.api.environments.staging.colour", "unknown key 'colour'") in found


def test_a_missing_required_key_is_located_at_its_parent() -> None:
    [(line, key, message)] = problems_of(VALID.replace('    channel: "#api-releases"\n', ""))
    assert (line, key, message) == (4, "services.api.channel", "required key is missing")


def test_cross_references_are_checked() -> None:
    found = problems_of(VALID.replace("provider: gh", "provider: github"))
    assert found == [(6, "services.api.provider", "'github' is not a provider (defined: gh)")]


def test_duplicate_keys_are_refused_rather_than_silently_overwritten() -> None:
    found = problems_of(VALID.replace("        bake: 5m\n", "        bake: 5m\n        bake: 10m\n"))
    assert found == [(10, "services.api.environments.staging.bake", "duplicate key (first given on line 9)")]


def test_bad_time_zone_and_freeze_window_are_explained() -> None:
    text = VALID.replace("Europe/Berlin", "Europe/Berlinn").replace(
        "gates: [ci_green]", 'gates: [{freeze_window: ["Fri 16:00-Mon 08:00"]}]')
    found = {key: message for _, key, message in problems_of(text)}
    assert "not an IANA time zone" in found["rotations.ops.timezone"]
    assert "freeze window" in found["services.api.environments.staging.gates.0.freeze_window.0"]


def test_yaml_syntax_errors_give_the_line() -> None:
    [(line, _, message)] = problems_of(VALID.replace("gates: [ci_green]", "gates: [ci_green"))
    assert line is not None and line >= 10
    assert message.startswith("not valid YAML")


def test_check_config_prints_problems_and_exits_non_zero(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text(VALID.replace("bake: 5m", "bake: 600"))
    result = subprocess.run([sys.executable, "-m", "bot.cli", "check-config", str(bad)],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 2
    assert f"{bad}:9: services.api.environments.staging.bake: 600 has no unit" in result.stderr


def test_check_config_accepts_the_example() -> None:
    result = subprocess.run([sys.executable, "-m", "bot.cli", "check-config", str(EXAMPLE_CONFIG)],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert "OK" in result.stdout
