"""`trust:`, `approval_timeout:` and gate `owner:` in switchman.yml: accepted, summarised by check-config,
and every mistake refused with file, line and key."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from bot.config.loader import parse_config
from bot.errors import ConfigError

GOOD = """\
providers:
  sandbox: {kind: sandbox}
services:
  api:
    channel: "#api-releases"
    provider: sandbox
    rotation: ops
    environments:
      production:
        gates: [ci_green, {approval: {count: 1, group: "@sre"}, owner: "@release-team"}, {not_locked: {owner: "@sre"}}]
        deployers: ["@api-devs"]
        trust: {paired_releases: 3, with: "@sre"}
        approval_timeout: 30m
rotations:
  ops:
    channel: "#ops"
    timezone: Europe/Berlin
    handoff: {every: week, day: monday, at: "10:00"}
    primaries: [U01OPS1]
"""


def problems_of(text: str) -> list[tuple[int | None, str, str]]:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "switchman.yml")
    return [(p.line, p.key, p.message) for p in caught.value.problems]


def test_trust_timeout_and_owners_are_read() -> None:
    env = parse_config(GOOD).services["api"].environments["production"]
    assert env.trust is not None and (env.trust.paired_releases, env.trust.with_) == (3, "@sre")
    assert env.approval_timeout == timedelta(minutes=30)
    assert [(g.kind, g.owner) for g in env.gates] == [("ci_green", None), ("approval", "@release-team"),
                                                      ("not_locked", "@sre")]


@pytest.mark.parametrize(("change", "line", "key", "expected"), [
    ('trust: {paired_releases: 3, with: "@sre"}', 12, "services.api.environments.production.trust.paired_releases",
     None),
    ('trust: {paired_releases: 0, with: "@sre"}', 12, "services.api.environments.production.trust.paired_releases",
     "greater than or equal to 1"),
    ('trust: {paired_releases: 3, with: "sre"}', 12, "services.api.environments.production.trust.with",
     "wrong form"),
    ("trust: {paired_releases: 3}", 12, "services.api.environments.production.trust.with", "required key"),
    ('trust: {paired_releases: 3, with: "@sre", after: 2}', 12,
     "services.api.environments.production.trust.after", "unknown key"),
])
def test_trust_mistakes_name_line_and_key(change: str, line: int, key: str, expected: str | None) -> None:
    text = GOOD.replace('trust: {paired_releases: 3, with: "@sre"}', change)
    if expected is None:
        parse_config(text)
        return
    [(got_line, got_key, message)] = problems_of(text)
    assert (got_line, got_key) == (line, key)
    assert expected in message


def test_trust_without_deployers_is_refused() -> None:
    [(line, key, message)] = problems_of(GOOD.replace('        deployers: ["@api-devs"]\n', ""))
    assert (line, key) == (11, "services.api.environments.production.trust")
    assert "no rights to earn" in message


def test_approval_timeout_mistakes() -> None:
    [(line, key, message)] = problems_of(GOOD.replace("approval_timeout: 30m", "approval_timeout: 30"))
    assert (line, key) == (13, "services.api.environments.production.approval_timeout") and "unit" in message
    [(_, key, message)] = problems_of(GOOD.replace("approval_timeout: 30m", "approval_timeout: 10s"))
    assert key == "services.api.environments.production.approval_timeout" and "at least 1m" in message
    no_rotation = GOOD.replace("    rotation: ops\n", "")
    [(_, key, message)] = problems_of(no_rotation)
    assert key == "services.api.environments.production.approval_timeout" and "no rotation covers api" in message
    nobody = (GOOD.replace('        trust: {paired_releases: 3, with: "@sre"}\n', "")
              .replace('{approval: {count: 1, group: "@sre"}, owner: "@release-team"}, ', ""))
    [(_, key, message)] = problems_of(nobody)
    assert key == "services.api.environments.production.approval_timeout" and "waits for nobody" in message


def test_a_gate_owner_must_be_a_user_group() -> None:
    [(line, key, message)] = problems_of(GOOD.replace('owner: "@sre"', 'owner: "sre team"'))
    assert line == 10 and key.endswith("owner") and "wrong form" in message


def test_check_config_summarises_trust_and_reports_mistakes(tmp_path: Path) -> None:
    good = tmp_path / "good.yml"
    good.write_text(GOOD)
    ok = subprocess.run([sys.executable, "-m", "bot.cli", "check-config", str(good)], capture_output=True,
                        text=True, check=False)
    assert ok.returncode == 0, ok.stderr
    assert "api production: non-deployers release paired with @sre" in ok.stdout
    assert "escalated to the on-call primary" in ok.stdout and "approval → @release-team" in ok.stdout
    bad = tmp_path / "bad.yml"
    bad.write_text(GOOD.replace("paired_releases: 3", "paired_releases: many"))
    refused = subprocess.run([sys.executable, "-m", "bot.cli", "check-config", str(bad)], capture_output=True,
                             text=True, check=False)
    assert refused.returncode != 0
    assert "bad.yml:12: " in refused.stderr
    assert "trust.paired_releases" in refused.stderr + refused.stdout
