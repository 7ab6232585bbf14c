"""`risk_rules:`, an environment's `risk:` and the `rollback_tested` gate in switchman.yml: defaults load,
and each mistake is refused with file, line, key and what was expected; check-config lists them."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from bot.config.gates import RollbackTested
from bot.config.loader import parse_config
from bot.config.models import risk_rules_of
from bot.errors import ConfigError


def config(env_extra: str = "", top: str = "", service_extra: str = "", gates: str = "[ci_green]") -> str:
    return f"""\
providers:
  sandbox: {{kind: sandbox}}
{top}services:
  api:
    channel: "#api-releases"
    provider: sandbox
{service_extra}    environments:
      staging:
        gates: [ci_green]
        verify: [{{http: {{url: "http://localhost:1/healthz"}}}}]
      production:
        gates: {gates}
{env_extra}"""


def problems_of(text: str) -> list[tuple[int | None, str, str]]:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "switchman.yml")
    return [(p.line, p.key, p.message) for p in caught.value.problems]


def test_defaults_and_a_full_risk_configuration_load() -> None:
    loaded = parse_config(config())
    rules = risk_rules_of(loaded, "api")
    assert rules.commits is not None and (rules.commits.medium, rules.commits.high) == (5, 20)
    assert rules.risky_paths is None and rules.outside_hours is None and rules.first_release_by_person is None
    text = config(
        top="""risk_rules:
  migrations: {globs: ["db/**"], level: high}
  risky_paths: {globs: ["auth/**"], level: medium}
  since_last_release: {medium: 7d, high: 30d, never: low}
  outside_hours: {hours: "Mon-Fri 09:00-18:00", timezone: Europe/Berlin}
  first_release_by_person: medium
""",
        gates='[ci_green, {approval: {count: 1, group: "@sre"}}, {rollback_tested: {within: 14d, in: staging}}]',
        env_extra="        risk: {high: {approvals: 2, strategy: canary, stages: [10, 100], bake: 30m}}\n")
    loaded = parse_config(text)
    env = loaded.services["api"].environments["production"]
    assert env.risk.high is not None and env.risk.high.bake == timedelta(minutes=30)
    gate = env.gates[-1]
    assert isinstance(gate, RollbackTested) and (gate.environment, gate.within) == ("staging", timedelta(days=14))


@pytest.mark.parametrize(("text", "line", "key", "message"), [
    (config(top="risk_rules:\n  commits: {medium: 5, high: 5}\n"), 4, "risk_rules.commits",
     "high (5) must be more than medium (5)"),
    (config(top="risk_rules:\n  comits: {medium: 5}\n"), 4, "risk_rules.comits", "unknown key"),
    (config(top="risk_rules:\n  outside_hours: {hours: \"9-5\"}\n"), 4, "risk_rules.outside_hours.hours",
     "write them as 'Mon-Fri 09:00-18:00'"),
    (config(top="risk_rules:\n  outside_hours: {timezone: Mars/Olympus}\n"), 4,
     "risk_rules.outside_hours.timezone", "not an IANA time zone"),
    (config(top="risk_rules:\n  since_last_release: {medium: 7}\n"), 4, "risk_rules.since_last_release.medium",
     "has no unit"),
    (config(env_extra="        risk: {high: {approvals: 2}}\n"), 13,
     "services.api.environments.production.risk.high.approvals", "no approval gate, so name who approves"),
    (config(env_extra="        risk: {high: {strategy: canary}}\n"), 13,
     "services.api.environments.production.risk.high.strategy", "a canary needs stages"),
    (config(env_extra="        risk: {extreme: {approvals: 2}}\n"), 13,
     "services.api.environments.production.risk.extreme", "unknown key"),
    (config(env_extra="        risk: {high: {bake: 30}}\n"), 13,
     "services.api.environments.production.risk.high.bake", "has no unit"),
    (config(gates="[{rollback_tested: {within: 30d, in: qa}}]"), 12,
     "services.api.environments.production.gates", "rollback_tested names 'qa'"),
    (config(gates="[{rollback_tested: {within: 30d}}]"), 12,
     "services.api.environments.production.gates.0.rollback_tested.in", "required key is missing"),
])
def test_a_risk_or_drill_mistake_names_file_line_and_key(text: str, line: int, key: str, message: str) -> None:
    found = problems_of(text)
    assert any(k.startswith(key) and message in m for _, k, m in found), found
    assert any(k.startswith(key) and ln == line for ln, k, _ in found), found


def test_check_config_lists_risk_controls_and_warns_about_drills_without_checks(tmp_path: Path) -> None:
    path = tmp_path / "switchman.yml"
    path.write_text(config(
        gates='[ci_green, {approval: {count: 1, group: "@sre"}}, {rollback_tested: {within: 30d, in: production}}]',
        env_extra="        risk: {high: {approvals: 2, strategy: canary, stages: [10, 100], bake: 30m}}\n"))
    done = subprocess.run([sys.executable, "-m", "bot.cli", "check-config", str(path)], capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "api/production: high risk → 2 approvals, canary [10, 100], bake 30m" in done.stdout
    assert "rollback_tested: a drill or rollback in production within 30 days" in done.stdout
    assert "which has no verify checks" in done.stderr
