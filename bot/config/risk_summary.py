"""What `switchman check-config` says about risk controls and rollback drills, one line per environment.

Only environments that configure something are listed. A `rollback_tested` gate whose drill
environment has no `verify` checks gets a warning: a drill there proves only that the pipeline runs.
"""

from __future__ import annotations

from bot.config.durations import format_days, format_duration
from bot.config.models import SwitchmanConfig


def lines(config: SwitchmanConfig) -> tuple[list[str], list[str]]:
    """(summary lines, warnings)."""
    said: list[str] = []
    warnings: list[str] = []
    for name, service in config.services.items():
        for env_name, env in service.environments.items():
            parts = []
            for level in ("medium", "high"):
                controls = env.risk.for_level(level)
                if controls is None:
                    continue
                needs = []
                if controls.approvals is not None:
                    needs.append(f"{controls.approvals} approvals")
                if controls.strategy is not None:
                    needs.append(controls.strategy + (f" {controls.stages}" if controls.stages else ""))
                if controls.bake is not None:
                    needs.append(f"bake {format_duration(controls.bake)}")
                parts.append(f"{level} risk → {', '.join(needs) or 'nothing more'}")
            for gate in env.gates:
                if gate.kind == "rollback_tested":
                    parts.append(f"rollback_tested: a drill or rollback in {gate.environment} within "
                                 f"{format_days(gate.within)}")
                    if not service.environments[gate.environment].verify:
                        warnings.append(f"services.{name}.environments.{env_name}: rollback_tested counts drills in "
                                        f"{gate.environment}, which has no verify checks: a drill there proves only "
                                        "that the pipeline runs")
            if parts:
                said.append(f"{name}/{env_name}: " + "; ".join(parts))
    return said, warnings
