"""Verification checks (§5) — HTTP health, PromQL bounds, no firing Alertmanager alert — run
concurrently after each rollout stage; `http` and `prometheus` also serve as pre-deploy gates (§4).
A provider that knows how the deployed stage is doing (`ReportsHealth`: the sandbox, whose `breach`
refs breach verification) adds its own failing check when it reports a breach.

A check says pass, fail, inconclusive (no data: nothing to judge by) or error (it could not ask).
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from bot.config.gates import GateOptions, HttpCheck, PrometheusCheck
from bot.context import AppContext
from bot.providers.base import DeployTarget, ReportsHealth
from bot.release.gates.types import GateDeps, GateInput, GateOutcome
from bot.release.models import Verdict

ALERTS_CHECK = "alertmanager"
PROVIDER_HEALTH_CHECK = "{kind} health"  # the provider's own word on the stage, where it has one


@dataclass(frozen=True)
class CheckResult:
    name: str
    outcome: GateOutcome


async def http_check(check: HttpCheck, client: httpx.AsyncClient) -> GateOutcome:
    try:
        response = await client.get(check.url, timeout=check.timeout.total_seconds())
    except httpx.HTTPError as exc:
        return GateOutcome(Verdict.FAIL, f"{check.url} did not answer: {type(exc).__name__}", check.url)
    if response.status_code != check.status:
        return GateOutcome(Verdict.FAIL, f"{check.url} answered {response.status_code}, expected {check.status}",
                           check.url)
    if check.json_field is None:
        return GateOutcome(Verdict.PASS, f"{check.url} answered {response.status_code}", check.url)
    try:
        value: Any = response.json()
        for part in check.json_field.split("."):
            value = value[int(part)] if isinstance(value, list) else value[part]
    except (ValueError, KeyError, IndexError, TypeError):
        return GateOutcome(Verdict.INCONCLUSIVE, f"{check.url} has no `{check.json_field}` in its answer", check.url)
    if check.equals is not None and value != check.equals:
        return GateOutcome(Verdict.FAIL, f"`{check.json_field}` is {value!r}, expected {check.equals!r}", check.url)
    return GateOutcome(Verdict.PASS, f"`{check.json_field}` is {value!r}", check.url)


async def prometheus_check(check: PrometheusCheck, client: httpx.AsyncClient) -> GateOutcome:
    """An instant query through the HTTP API; every returned series must lie within the bounds."""
    url = check.url.rstrip("/") + "/api/v1/query"
    link = check.url.rstrip("/") + "/graph?g0.expr=" + httpx.QueryParams({"q": check.query})["q"]
    try:
        response = await client.get(url, params={"query": check.query}, timeout=check.timeout.total_seconds())
        body = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        return GateOutcome(Verdict.ERROR, f"Prometheus at {check.url} could not be asked: {type(exc).__name__}", link)
    if body.get("status") != "success":
        return GateOutcome(Verdict.ERROR, f"Prometheus refused `{check.query}`: {body.get('error', response.text)}",
                           link)
    values = _sample_values(body.get("data", {}))
    if not values:
        return GateOutcome(Verdict.INCONCLUSIVE, f"`{check.query}` returned no data", link)
    bounds = _bounds_text(check)
    outside = [v for v in values if math.isnan(v) or (check.max is not None and v > check.max)
               or (check.min is not None and v < check.min)]
    shown = ", ".join(f"{v:g}" for v in values[:5])
    if outside:
        return GateOutcome(Verdict.FAIL, f"`{check.query}` = {shown}, outside {bounds}", link)
    return GateOutcome(Verdict.PASS, f"`{check.query}` = {shown}, within {bounds}", link)


def _sample_values(data: dict[str, Any]) -> list[float]:
    kind, result = data.get("resultType"), data.get("result")
    if kind in ("scalar", "string") and isinstance(result, list) and len(result) == 2:
        return [float(result[1])]
    if kind == "vector" and isinstance(result, list):
        return [float(series["value"][1]) for series in result if "value" in series]
    if kind == "matrix" and isinstance(result, list):
        return [float(series["values"][-1][1]) for series in result if series.get("values")]
    return []


def _bounds_text(check: PrometheusCheck) -> str:
    if check.min is not None and check.max is not None:
        return f"[{check.min:g}, {check.max:g}]"
    return f"≤ {check.max:g}" if check.max is not None else f"≥ {check.min:g}"


async def alerts_check(ctx: AppContext, service: str) -> GateOutcome:
    from bot.oncall.alerts import firing_alerts  # the on-call domain owns received alerts

    async with ctx.db.session() as session:
        firing = await firing_alerts(session, service=service)
    if not firing:
        return GateOutcome(Verdict.PASS, f"no Alertmanager alert firing for {service}")
    names = ", ".join(sorted({(a.labels or {}).get("alertname", "alert") for a in firing}))
    return GateOutcome(Verdict.FAIL, f"{len(firing)} alert(s) firing for {service}: {names}")


async def provider_health(ctx: AppContext, goal: DeployTarget) -> CheckResult | None:
    """What the service's provider says about the deployed stage, when it can tell (the sandbox's `breach`)."""
    provider = ctx.providers[ctx.config.services[goal.service].provider]
    if not isinstance(provider, ReportsHealth):
        return None
    breach = await provider.health(goal)
    if breach is None:
        return None
    return CheckResult(PROVIDER_HEALTH_CHECK.format(kind=provider.kind), GateOutcome(Verdict.FAIL, breach))


async def run_checks(ctx: AppContext, service: str, checks: Sequence[GateOptions], *,
                     goal: DeployTarget | None = None) -> list[CheckResult]:
    """Every configured check plus the Alertmanager check (and the provider's word on `goal`, the stage
    just deployed, where it has one), concurrently; the total is the slowest."""
    assert ctx.http is not None
    client = ctx.http

    async def one(check: GateOptions) -> CheckResult:
        try:
            async with asyncio.timeout(check.timeout.total_seconds() + 1):
                if isinstance(check, HttpCheck):
                    return CheckResult(f"http {check.url}", await http_check(check, client))
                assert isinstance(check, PrometheusCheck)
                return CheckResult(f"prometheus {check.query}", await prometheus_check(check, client))
        except TimeoutError:
            return CheckResult(getattr(check, "kind", "check"), GateOutcome(Verdict.ERROR, "no answer in time"))

    async def alerts() -> CheckResult:
        return CheckResult(ALERTS_CHECK, await alerts_check(ctx, service))

    results = list(await asyncio.gather(*(one(c) for c in checks), alerts()))
    health = await provider_health(ctx, goal) if goal is not None else None
    return results + ([health] if health is not None else [])


async def http_gate(gate: HttpCheck, inp: GateInput, deps: GateDeps) -> GateOutcome:
    return _as_gate(await http_check(gate, deps.http))


async def prometheus_gate(gate: PrometheusCheck, inp: GateInput, deps: GateDeps) -> GateOutcome:
    return _as_gate(await prometheus_check(gate, deps.http))


def _as_gate(outcome: GateOutcome) -> GateOutcome:
    # Before a deploy, "no data" is no evidence of safety: the gate errors, it never passes.
    if outcome.verdict == Verdict.INCONCLUSIVE:
        return GateOutcome(Verdict.ERROR, outcome.evidence + " (no data is not a pass)", outcome.link)
    return outcome
