"""Gate and verification-check entries of an environment (§4, §5), as written in switchman.yml.

An entry is either a bare name (`ci_green`) or a one-key mapping whose value holds the
gate's parameters (`{approval: {count: 1, group: "@sre"}}`). Every gate also takes the
common options `timeout` and `overridable`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from bot.config.durations import Duration
from bot.release.freeze_window import FreezeWindowError, parse_freeze_window

DEFAULT_GATE_TIMEOUT = timedelta(seconds=60)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class GateOptions(Strict):
    timeout: Duration = DEFAULT_GATE_TIMEOUT
    overridable: bool = False
    # The user group answerable for the gate: mentioned in the release thread when it fails.
    owner: str | None = Field(default=None, pattern=r"^@[\w.-]+$|^S[A-Z0-9]{6,}$",
                              description="a Slack user group: @handle or S… id")


class CiGreen(GateOptions):
    kind: Literal["ci_green"] = "ci_green"


class NotLocked(GateOptions):
    kind: Literal["not_locked"] = "not_locked"


class NoConcurrentDeploy(GateOptions):
    kind: Literal["no_concurrent_deploy"] = "no_concurrent_deploy"


class PromotedFrom(GateOptions):
    kind: Literal["promoted_from"] = "promoted_from"
    environment: str


class Approval(GateOptions):
    kind: Literal["approval"] = "approval"
    count: int = Field(default=1, ge=1, le=10)
    group: str = Field(pattern=r"^@[\w.-]+$|^S[A-Z0-9]{6,}$", description="a Slack user group: @handle or S… id")


def _check_window(text: str) -> str:
    try:
        parse_freeze_window(text)
    except FreezeWindowError as exc:
        raise ValueError(str(exc)) from None
    return text


class FreezeWindowGate(GateOptions):
    kind: Literal["freeze_window"] = "freeze_window"
    windows: list[Annotated[str, AfterValidator(_check_window)]] = Field(min_length=1)


class OncallPresent(GateOptions):
    kind: Literal["oncall_present"] = "oncall_present"
    rotation: str | None = None


class PrometheusCheck(GateOptions):
    kind: Literal["prometheus"] = "prometheus"
    url: str = Field(pattern=r"^https?://")
    query: str = Field(min_length=1)
    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _bounds(self) -> PrometheusCheck:
        if self.min is None and self.max is None:
            raise ValueError("give min, max or both: the bounds the query's value must stay within")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) is greater than max ({self.max})")
        return self


class HttpCheck(GateOptions):
    kind: Literal["http"] = "http"
    url: str = Field(pattern=r"^https?://")
    status: int = Field(default=200, ge=100, le=599)
    json_field: str | None = None
    equals: Any = None


class RollbackTested(GateOptions):
    """A drill or real rollback of the service succeeded in `in` within `within` (§4)."""

    kind: Literal["rollback_tested"] = "rollback_tested"
    within: Duration = timedelta(days=30)
    environment: str = Field(alias="in", pattern=r"^[a-z0-9][a-z0-9_.-]{0,62}$")


class NotQuarantined(GateOptions):
    """Always checked before a deploy (never configured): a rolled-back commit stays out until a newer one ships."""

    kind: Literal["not_quarantined"] = "not_quarantined"


class PairJoined(GateOptions):
    """Added (never configured) to a release by a developer not yet trusted there: waits for a pair (`trust:`)."""

    kind: Literal["pair"] = "pair"
    group: str


Gate = Annotated[
    CiGreen | NotLocked | NoConcurrentDeploy | PromotedFrom | Approval | FreezeWindowGate | OncallPresent
    | PrometheusCheck | HttpCheck | RollbackTested,
    Field(discriminator="kind"),
]
Check = Annotated[PrometheusCheck | HttpCheck, Field(discriminator="kind")]

GATE_KINDS = {
    "ci_green", "not_locked", "no_concurrent_deploy", "promoted_from", "approval",
    "freeze_window", "oncall_present", "prometheus", "http", "rollback_tested",
}
CHECK_KINDS = {"prometheus", "http"}
# The parameter a gate's short form fills: `{promoted_from: staging}`, `{freeze_window: [...]}`.
_COMMON_OPTIONS = {"timeout", "overridable", "owner"}
_SHORT_FORM = {"promoted_from": "environment", "freeze_window": "windows", "oncall_present": "rotation"}


def normalise_entry(entry: Any, allowed: set[str]) -> Any:
    """Turn `name` / `{name: params}` into `{kind: name, **params}` for the discriminated union."""
    if isinstance(entry, str):
        name, params = entry, {}
    elif isinstance(entry, dict):
        names = [k for k in entry if k not in _COMMON_OPTIONS]
        if len(names) != 1:
            raise ValueError("expected one gate kind per entry, e.g. {approval: {count: 1, group: '@sre'}}; "
                             f"found {', '.join(map(str, names)) or 'none'}")
        name, value = names[0], entry[names[0]]
        if isinstance(value, dict):
            params = dict(value)
        elif value is None:
            params = {}
        elif name in _SHORT_FORM:
            params = {_SHORT_FORM[name]: value}
        else:
            raise ValueError(f"the parameters of {name!r} must be a mapping, e.g. {{{name}: {{...}}}}")
        params.update({k: v for k, v in entry.items() if k in _COMMON_OPTIONS})
    else:
        raise ValueError("expected a name such as ci_green, or a one-key mapping such as "
                         "{approval: {count: 1, group: '@sre'}}")
    if name not in allowed:
        raise ValueError(f"unknown kind {name!r}; expected one of: {', '.join(sorted(allowed))}")
    return {"kind": name, **params}
