"""The typed shape of switchman.yml (§9): providers, services and their environments, rotations.

Validation happens here; locating a problem in the file happens in `loader.py`. Secrets are
never values in this file, only the names of environment variables that hold them.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, AliasChoices, BeforeValidator, Field, model_validator

from bot.config.contacts import Person, Smtp, Twilio, contact_problems
from bot.config.durations import Duration
from bot.config.gates import CHECK_KINDS, GATE_KINDS, Check, Gate, Strict, normalise_entry
from bot.config.risk import RiskControls, RiskRules
from bot.config.web_log import WebLog

SLACK_USER = r"^[UW][A-Z0-9]{2,}$"
SLACK_USER_OR_GROUP = r"^([UW][A-Z0-9]{2,}|@[\w.-]+|S[A-Z0-9]{6,})$"
CHANNEL = r"^(#[a-z0-9_-]{1,80}|[CGD][A-Z0-9]{2,})$"
NAME = r"^[a-z0-9][a-z0-9_.-]{0,62}$"
ENV_VAR = r"^[A-Z_][A-Z0-9_]*$"
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{name!r} is not an IANA time zone (e.g. Europe/Berlin, America/Chicago, UTC)") from None
    return name


TimeZoneName = Annotated[str, AfterValidator(_zone)]
GateEntry = Annotated[Gate, BeforeValidator(lambda v: normalise_entry(v, GATE_KINDS))]
CheckEntry = Annotated[Check, BeforeValidator(lambda v: normalise_entry(v, CHECK_KINDS))]


class Provider(Strict):
    """One CI/CD system Switchman talks to (§7). Secrets are named by environment variable, never given."""

    kind: Literal["github_actions", "gitlab", "jenkins", "argocd", "sandbox"]
    # Jenkins' documentation calls it the Jenkins URL: `url:` is accepted as well.
    api_url: str | None = Field(default=None, pattern=r"^https?://", validation_alias=AliasChoices("api_url", "url"))
    token_env: str | None = Field(default=None, pattern=ENV_VAR)
    user: str | None = Field(default=None, min_length=1, max_length=128, description="Jenkins: the API token's user")
    user_env: str | None = Field(default=None, pattern=ENV_VAR, description="Jenkins: user for the API token")
    # GitLab: a pipeline trigger token; when set, pipelines start through the trigger API.
    trigger_token_env: str | None = Field(default=None, pattern=ENV_VAR)
    # GitHub App authentication (github_actions), instead of token_env.
    app_id: int | None = Field(default=None, ge=1)
    installation_id: int | None = Field(default=None, ge=1)
    private_key_env: str | None = Field(default=None, pattern=ENV_VAR)
    # Argo CD: the project its applications belong to, sent as the `project` query parameter.
    project: str | None = Field(default=None, pattern=NAME)
    timeout: Duration = timedelta(seconds=10)
    retries: int = Field(default=3, ge=0, le=10)
    # sandbox only: how its simulated pipeline behaves
    run_duration: Duration = timedelta(seconds=3)
    outcome: Literal["success", "failure"] = "success"

    @property
    def github_app(self) -> bool:
        return self.app_id is not None

    @model_validator(mode="after")
    def _needs(self) -> Provider:
        if self.kind == "sandbox":
            return self
        if self.api_url is None:
            raise ValueError(f"a {self.kind} provider needs api_url")
        app_keys = {"app_id": self.app_id, "installation_id": self.installation_id,
                    "private_key_env": self.private_key_env}
        given = [k for k, v in app_keys.items() if v is not None]
        if given and self.kind != "github_actions":
            raise ValueError(f"{', '.join(given)}: GitHub App keys are for a github_actions provider")
        if given and len(given) < len(app_keys):
            missing = [k for k in app_keys if k not in given]
            raise ValueError(f"GitHub App authentication needs app_id, installation_id and private_key_env; "
                             f"missing {', '.join(missing)}")
        if given and self.token_env is not None:
            raise ValueError("give either token_env or the GitHub App keys (app_id, installation_id, "
                             "private_key_env), not both")
        if not given and self.token_env is None:
            raise ValueError(f"a {self.kind} provider needs token_env: the environment variable that holds its token"
                             + (" (or app_id, installation_id and private_key_env for a GitHub App)"
                                if self.kind == "github_actions" else ""))
        if self.kind == "jenkins" and self.user is None and self.user_env is None:
            raise ValueError("a jenkins provider needs user (or user_env): the user its API token belongs to")
        if self.trigger_token_env is not None and self.kind != "gitlab":
            raise ValueError("trigger_token_env is for a gitlab provider")
        if self.project is not None and self.kind != "argocd":
            raise ValueError("project is for an argocd provider")
        return self


class Trust(Strict):
    """Deploy rights earned by pairing (§4): how many successful paired releases, paired with whom."""

    paired_releases: int = Field(default=3, ge=1, le=100)
    with_: str = Field(alias="with", pattern=r"^@[\w.-]+$|^S[A-Z0-9]{6,}$",
                       description="the user group whose members pair with, and grant rights to, developers")


class Environment(Strict):
    branch: str = "main"
    strategy: Literal["rolling", "canary", "blue-green"] = "rolling"
    stages: list[Annotated[int, Field(ge=1, le=100)]] = Field(default_factory=lambda: [100])
    bake: Duration = timedelta(0)
    gates: list[GateEntry] = Field(default_factory=list)
    verify: list[CheckEntry] = Field(default_factory=list)
    auto_rollback: bool = False
    inconclusive_timeout: Duration = timedelta(minutes=30)
    deployers: list[Annotated[str, Field(pattern=SLACK_USER_OR_GROUP)]] = Field(default_factory=list)
    # Argo CD: the application that is this environment.
    application: str | None = Field(default=None, pattern=NAME)
    overriders: list[Annotated[str, Field(pattern=SLACK_USER_OR_GROUP)]] = Field(default_factory=list)
    # A developer not in `deployers` may release here paired with a member of `trust.with` (§4).
    trust: Trust | None = None
    # A release waiting for people longer than this is escalated to the on-call primary (§4).
    approval_timeout: Duration | None = None
    # What each risk level requires here (approvals, canary, a longer bake): bot/config/risk.py.
    risk: RiskControls = Field(default_factory=RiskControls)

    @model_validator(mode="after")
    def _stages(self) -> Environment:
        if any(b <= a for a, b in zip(self.stages, self.stages[1:], strict=False)):
            raise ValueError(f"stages must increase, e.g. [10, 50, 100]; got {self.stages}")
        if self.stages[-1] != 100:
            raise ValueError(f"the last stage must be 100 (all traffic); got {self.stages}")
        if self.strategy != "canary" and self.stages != [100]:
            raise ValueError(f"stages are for the canary strategy; {self.strategy} rolls out in one stage")
        return self


class WeeklyReview(Strict):
    """When and where the weekly release confidence review of a team is posted (§8).

    Top level: for every service without its own `weekly_review`. A team is the services reviewed
    in one channel: they get one post, so they must agree on day, time and zone.
    """

    channel: str = Field(pattern=CHANNEL)
    day: Annotated[str, BeforeValidator(lambda v: v.lower() if isinstance(v, str) else v)] = "monday"
    at: str = Field(default="09:00", pattern=r"^([01]?\d|2[0-3]):[0-5]\d$")
    timezone: TimeZoneName = "UTC"

    @model_validator(mode="after")
    def _day(self) -> WeeklyReview:
        if self.day.lower() not in WEEKDAYS:
            raise ValueError(f"day must be one of {', '.join(WEEKDAYS)}; got {self.day!r}")
        return self

    @property
    def when(self) -> str:
        return f"{self.day} {self.at} {self.timezone}"


class Service(Strict):
    channel: str = Field(pattern=CHANNEL)
    provider: str  # deploys it
    # Runs its CI and hosts its code (ci_green, the change preview, resolving refs) when the deploy
    # provider does not: Argo CD and Jenkins need one.
    ci: str | None = None
    repo: str | None = Field(default=None, pattern=r"^[\w.-]+/[\w./-]+$")
    workflow: str | None = None
    # Jenkins: the job as a folder path, e.g. team/deploy-api.
    job: str | None = Field(default=None, pattern=r"^[\w.-]+(/[\w.-]+)*$")
    rollback_workflow: str | None = None
    runbook: str | None = Field(default=None, pattern=r"^https?://")
    rollback_plan: str | None = Field(default=None, pattern=r"^https?://")
    rotation: str | None = None
    environments: dict[Annotated[str, Field(pattern=NAME)], Environment] = Field(min_length=1)
    weekly_review: WeeklyReview | None = None
    # Replaces the top-level risk_rules for this service.
    risk_rules: RiskRules | None = None

    @property
    def code_host(self) -> str:
        """The provider that knows the code: resolves refs, reports CI, compares commits."""
        return self.ci or self.provider


class Handoff(Strict):
    every: Literal["hour", "day", "week", "month"]
    day: str | int | None = None
    at: str = Field(default="00:00", pattern=r"^([01]?\d|2[0-3]):[0-5]\d$")
    interval: int = Field(default=1, ge=1, le=52)

    @model_validator(mode="after")
    def _day(self) -> Handoff:
        if self.every == "week":
            if not isinstance(self.day, str) or self.day.lower() not in WEEKDAYS:
                raise ValueError(f"a weekly handoff needs day: one of {', '.join(WEEKDAYS)}")
        elif self.every == "month":
            if not isinstance(self.day, int) or not 1 <= self.day <= 31:
                raise ValueError("a monthly handoff needs day: a day of the month, 1 to 31")
        elif self.day is not None:
            raise ValueError(f"day does not apply to a handoff every {self.every}")
        return self


class Escalation(Strict):
    ack_within: Duration = timedelta(minutes=5)
    then: list[Annotated[str, Field(pattern=SLACK_USER)]] = Field(default_factory=list)


class Graduation(Strict):
    shadow_shifts: int = Field(default=2, ge=1)
    pages_seen: int = Field(default=3, ge=0)


class UserGroups(Strict):
    primary: str | None = Field(default=None, pattern=r"^@[\w.-]+$|^S[A-Z0-9]{6,}$")
    shadow: str | None = Field(default=None, pattern=r"^@[\w.-]+$|^S[A-Z0-9]{6,}$")


class Heartbeat(Strict):
    """A monitoring pipeline that must check in every `every` (§6); silence longer than that pages the rotation.

    Pinged at `POST /webhooks/heartbeat/NAME/SECRET` (the secret read from `secret_env`), or by an
    Alertmanager alert named `alertname` (default `Watchdog`, the always-firing dead man's switch)
    routed to the rotation.
    """

    every: Duration
    secret_env: str | None = Field(default=None, pattern=ENV_VAR)
    alertname: str = Field(default="Watchdog", min_length=1, max_length=128)

    @model_validator(mode="after")
    def _positive(self) -> Heartbeat:
        if self.every < timedelta(seconds=10):
            raise ValueError(f"every must be at least 10s; got {self.every}")
        return self


class Rotation(Strict):
    channel: str = Field(pattern=CHANNEL)
    timezone: TimeZoneName
    handoff: Handoff
    primaries: list[Annotated[str, Field(pattern=SLACK_USER)]] = Field(min_length=1)
    shadows: list[Annotated[str, Field(pattern=SLACK_USER)]] = Field(default_factory=list)
    shadow_hours: Literal["business", "always"] = "always"
    usergroups: UserGroups = Field(default_factory=UserGroups)
    escalation: Escalation = Field(default_factory=Escalation)
    graduation: Graduation = Field(default_factory=Graduation)
    reminder_before: Duration = timedelta(hours=1)
    services: list[str] = Field(default_factory=list)
    routing_keys: list[Annotated[str, Field(pattern=r"^[A-Za-z0-9]{20,64}$")]] = Field(default_factory=list)
    # One page per Alertmanager group (groupKey), updated as its alerts change; false: one per alert.
    group_pages: bool = True
    heartbeats: dict[Annotated[str, Field(pattern=NAME)], Heartbeat] = Field(default_factory=dict)


class SwitchmanConfig(Strict):
    providers: dict[Annotated[str, Field(pattern=NAME)], Provider] = Field(default_factory=dict)
    services: dict[Annotated[str, Field(pattern=NAME)], Service] = Field(default_factory=dict)
    rotations: dict[Annotated[str, Field(pattern=NAME)], Rotation] = Field(default_factory=dict)
    # Nothing inbound is dropped (§6): an alert no rotation claims pages this rotation, else it is
    # posted in this channel.
    fallback_rotation: str | None = None
    unrouted_channel: str | None = Field(default=None, pattern=CHANNEL)
    # How each person is reached besides the Slack DM (§6), keyed by Slack user id.
    people: dict[Annotated[str, Field(pattern=SLACK_USER)], Person] = Field(default_factory=dict)
    twilio: Twilio | None = None
    smtp: Smtp | None = None
    # The weekly release confidence review of every service that does not name its own.
    weekly_review: WeeklyReview | None = None
    # The read-only web release log under /log/ (§10): its signing secret, link lifetimes, trusted proxies.
    web_log: WebLog = Field(default_factory=WebLog)
    # How a change's risk level is computed (bot/config/risk.py); a service may give its own.
    risk_rules: RiskRules = Field(default_factory=RiskRules)

    @model_validator(mode="after")
    def _references(self) -> SwitchmanConfig:
        problems: list[str] = _review_problems(self)
        if self.fallback_rotation is not None and self.fallback_rotation not in self.rotations:
            problems.append(f"fallback_rotation: {self.fallback_rotation!r} is not a rotation "
                            f"(defined: {', '.join(sorted(self.rotations)) or 'none'})")
        for name, service in self.services.items():
            if service.provider not in self.providers:
                problems.append(f"services.{name}.provider: {service.provider!r} is not a provider "
                                f"(defined: {', '.join(sorted(self.providers)) or 'none'})")
            problems += _provider_fit(name, service, self.providers)
            if service.rotation is not None and service.rotation not in self.rotations:
                problems.append(f"services.{name}.rotation: {service.rotation!r} is not a rotation")
            for env_name, env in service.environments.items():
                problems += _risk_problems(f"services.{name}.environments.{env_name}", env)
                for gate in env.gates:
                    where = f"services.{name}.environments.{env_name}.gates"
                    if gate.kind == "promoted_from" and gate.environment not in service.environments:
                        problems.append(f"{where}: promoted_from names {gate.environment!r}, "
                                        f"not an environment of {name}")
                    if gate.kind == "oncall_present" and gate.rotation and gate.rotation not in self.rotations:
                        problems.append(f"{where}: oncall_present names {gate.rotation!r}, not a rotation")
                    if gate.kind == "rollback_tested" and gate.environment not in service.environments:
                        problems.append(f"{where}: rollback_tested names {gate.environment!r} (in:), "
                                        f"not an environment of {name}")
        keys: dict[str, str] = {}
        beats: dict[str, str] = {}
        for name, rotation in self.rotations.items():
            for beat in rotation.heartbeats:  # the ping URL names the heartbeat alone
                if beat in beats:
                    problems.append(f"rotations.{name}.heartbeats.{beat}: the name is also used by {beats[beat]}; "
                                    "heartbeat names must be unique across rotations")
                beats[beat] = name
            for service_name in rotation.services:
                if service_name not in self.services:
                    problems.append(f"rotations.{name}.services: {service_name!r} is not a service")
            both = set(rotation.primaries) & set(rotation.shadows)
            if both and len(rotation.primaries) + len(rotation.shadows) - len(both) < 2:
                problems.append(f"rotations.{name}: a person can never be primary and shadow at once, "
                                f"so the rotation needs at least two different people")
            for key in rotation.routing_keys:
                if key in keys:
                    problems.append(f"rotations.{name}.routing_keys: {key[:4]}… is also used by {keys[key]}")
                keys[key] = name
        problems += trust_problems(self)
        problems += contact_problems(self.people, twilio=self.twilio is not None, smtp=self.smtp is not None)
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def person(self, user: str) -> Person:
        """How `user` is reached: their `people:` entry, or a Slack DM alone."""
        return self.people.get(user) or Person()

    def rotations_for_service(self, service: str) -> list[str]:
        named = self.services[service].rotation if service in self.services else None
        found = [name for name, r in self.rotations.items() if service in r.services]
        return [named] + [n for n in found if n != named] if named else found


def trust_problems(config: SwitchmanConfig) -> list[str]:
    """`trust:` needs deployers to earn a place among; `approval_timeout:` needs someone to wait for and
    an on-call primary to escalate to."""
    problems: list[str] = []
    for name, service in config.services.items():
        for env_name, env in service.environments.items():
            where = f"services.{name}.environments.{env_name}"
            if env.trust is not None and not env.deployers:
                problems.append(f"{where}.trust: without deployers everyone may deploy to {env_name}, so there "
                                "are no rights to earn: list the deployers (e.g. deployers: [\"@api-devs\"])")
            if env.approval_timeout is None:
                continue
            if env.approval_timeout < timedelta(minutes=1):
                problems.append(f"{where}.approval_timeout: must be at least 1m (got {env.approval_timeout})")
            if env.trust is None and not any(g.kind == "approval" for g in env.gates):
                problems.append(f"{where}.approval_timeout: {env_name} waits for nobody (no approval gate, no "
                                "trust:): add an approval gate or remove approval_timeout")
            if not config.rotations_for_service(name):
                problems.append(f"{where}.approval_timeout: escalates to the on-call primary of {name}'s "
                                f"rotation, but no rotation covers {name}: set services.{name}.rotation")
    return problems


def trust_summary(config: SwitchmanConfig) -> list[str]:
    """What `check-config` says about earned trust and time-boxed reviews, one line per environment."""
    lines = []
    for name, service in config.services.items():
        for env_name, env in service.environments.items():
            parts = []
            if env.trust is not None:
                parts.append(f"non-deployers release paired with {env.trust.with_}; the right is proposed after "
                             f"{env.trust.paired_releases} successful paired release(s)")
            if env.approval_timeout is not None:
                parts.append(f"a release waiting longer than {env.approval_timeout} is escalated to the on-call "
                             "primary")
            owned = [f"{g.kind} → {g.owner}" for g in env.gates if g.owner]
            if owned:
                parts.append("gate owners: " + ", ".join(owned))
            if parts:
                lines.append(f"{name} {env_name}: " + "; ".join(parts))
    return lines


def risk_rules_of(config: SwitchmanConfig, service: str) -> RiskRules:
    """The risk rules a service's changes are judged by: its own, else the top-level ones."""
    return config.services[service].risk_rules or config.risk_rules


def _risk_problems(where: str, env: Environment) -> list[str]:
    """A level's controls must be carried out here: approvals need a group, a canary needs stages."""
    problems: list[str] = []
    has_approval = any(g.kind == "approval" for g in env.gates)
    for level in ("medium", "high"):
        controls = env.risk.for_level(level)
        if controls is None:
            continue
        if controls.approvals is not None and not has_approval and controls.group is None:
            problems.append(f"{where}.risk.{level}.approvals: this environment has no approval gate, so name who "
                            f"approves, e.g. {{approvals: {controls.approvals}, group: '@sre'}}")
        if controls.strategy == "canary" and controls.stages is None and len(env.stages) < 2:
            problems.append(f"{where}.risk.{level}.strategy: a canary needs stages; give them with the level, "
                            "e.g. {strategy: canary, stages: [10, 50, 100]}")
    return problems


def review_of(config: SwitchmanConfig, service: str) -> WeeklyReview | None:
    """The weekly review a service is part of: its own, else the top-level one, else none."""
    return config.services[service].weekly_review or config.weekly_review


def _review_problems(config: SwitchmanConfig) -> list[str]:
    """Services reviewed in one channel are one team with one post: they must agree on when it is."""
    problems: list[str] = []
    first: dict[str, tuple[str, WeeklyReview]] = {}
    for name in sorted(config.services):
        review = review_of(config, name)
        if review is None:
            continue
        seen = first.setdefault(review.channel, (name, review))
        if seen[1].when != review.when:
            problems.append(f"services.{name}.weekly_review: {review.channel} already has {seen[0]}'s review on "
                            f"{seen[1].when}, not {review.when}; one channel gets one review a week, so give "
                            f"{name} another channel or the same day, time and zone")
    return problems


CODE_HOSTS = ("github_actions", "gitlab", "sandbox")  # kinds that know a repository's refs and CI


def _provider_fit(name: str, service: Service, providers: dict[str, Provider]) -> list[str]:
    """What a service must say for the kind of provider that deploys it, and for its `ci:` provider."""
    problems: list[str] = []
    deploy = providers.get(service.provider)
    if service.ci is not None:
        ci = providers.get(service.ci)
        if ci is None:
            problems.append(f"services.{name}.ci: {service.ci!r} is not a provider "
                            f"(defined: {', '.join(sorted(providers)) or 'none'})")
        elif ci.kind not in CODE_HOSTS:
            problems.append(f"services.{name}.ci: {service.ci!r} is a {ci.kind} provider, which does not run CI "
                            f"for a repository; name one of kind {', '.join(CODE_HOSTS)}")
    if deploy is None:
        return problems
    if deploy.kind not in CODE_HOSTS and service.ci is None:
        problems.append(f"services.{name}.ci: {deploy.kind} deploys but does not know the code: name the provider "
                        f"that runs its CI (a github_actions or gitlab provider) as ci:")
    if deploy.kind == "gitlab" and service.repo is None:
        problems.append(f"services.{name}.repo: a gitlab provider needs the project path (group/name)")
    if deploy.kind == "jenkins" and service.job is None:
        problems.append(f"services.{name}.job: a jenkins provider needs the job, as a folder path (team/deploy-api)")
    if deploy.kind == "argocd":
        problems += [f"services.{name}.environments.{env}.application: an argocd provider needs the Argo CD "
                     f"application of each environment" for env, e in service.environments.items()
                     if e.application is None]
    if service.ci is not None and service.repo is None:
        problems.append(f"services.{name}.repo: the ci provider needs the repository")
    return problems


def cross_reference_paths(message: str) -> list[tuple[str, str]]:
    """Split the reference validator's message into (dotted key, message) pairs."""
    out = []
    for part in message.split("; "):
        match = re.match(r"^([\w.-]+): (.*)$", part, re.S)
        out.append((match.group(1), match.group(2)) if match else ("", part))
    return out


def summarise(config: SwitchmanConfig) -> dict[str, Any]:
    return {
        "providers": sorted(config.providers),
        "services": {n: sorted(s.environments) for n, s in config.services.items()},
        "rotations": sorted(config.rotations),
    }
