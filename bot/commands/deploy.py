"""The `/deploy` grammar (§2) and its usage text."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from bot.commands import limits
from bot.commands.suggest import closest
from bot.commands.tokens import split_words, user_id
from bot.errors import BadInput

USAGE = """*`/deploy`* — release a service through its gates
• `/deploy` — open the deploy form
• `/deploy SERVICE [REF] [to] ENV [--strategy rolling|canary|blue-green] [--reason "..."]`
  e.g. `/deploy api v1.4.2 to production`
• `/deploy status [SERVICE]` — what runs where, what is in flight, locks and queues
• `/deploy why SERVICE ENV` — what blocks a deploy right now
• `/deploy lock SERVICE ENV [--for 2h] --reason "..."` · `/deploy unlock SERVICE ENV`
• `/deploy history SERVICE [ENV]` — recent releases with outcome and thread links
• `/deploy metrics [SERVICE] [--days 90]` — delivery metrics
• `/deploy cancel ID` — cancel a queued or running release
• `/deploy trust [@user]` — progress towards deploy rights earned by pairing, per environment
• `/deploy trust revoke @user SERVICE ENV` — take an earned deploy right away again
• `/deploy where SHA|REF|me` — which environments carry a commit, or where my recent changes run
• `/deploy log` — your personal, expiring link to the read-only web release log
• `/deploy help` — this text
Limits: a ref is at most 255 bytes, a reason at most 500 characters, `--for` from 1s to 365d."""

STRATEGIES = ("rolling", "canary", "blue-green")
SUBCOMMANDS = ("help", "status", "why", "lock", "unlock", "history", "metrics", "cancel", "trust", "where", "log")
DEFAULT_LOCK = timedelta(hours=2)
MAX_METRICS_DAYS = 3650


@dataclass(frozen=True)
class DeployHelp:
    pass


@dataclass(frozen=True)
class DeployModal:
    pass


@dataclass(frozen=True)
class DeployRequest:
    service: str
    environment: str
    ref: str | None = None
    strategy: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class DeployStatus:
    service: str | None = None


@dataclass(frozen=True)
class DeployWhy:
    service: str
    environment: str


@dataclass(frozen=True)
class DeployLock:
    service: str
    environment: str
    reason: str
    duration: timedelta = DEFAULT_LOCK


@dataclass(frozen=True)
class DeployUnlock:
    service: str
    environment: str


@dataclass(frozen=True)
class DeployHistory:
    service: str
    environment: str | None = None


@dataclass(frozen=True)
class DeployMetrics:
    service: str | None = None
    days: int = 90


@dataclass(frozen=True)
class DeployCancel:
    release_id: int


@dataclass(frozen=True)
class DeployTrust:
    user: str | None = None


@dataclass(frozen=True)
class DeployTrustRevoke:
    user: str
    service: str
    environment: str


@dataclass(frozen=True)
class DeployWhere:
    commit: str | None  # a SHA (7+ hex digits) or a ref; None for `me`

    @property
    def me(self) -> bool:
        return self.commit is None


@dataclass(frozen=True)
class DeployLog:
    """`/deploy log`: a personal link to the web release log (§10)."""


DeployCommand = (DeployHelp | DeployModal | DeployRequest | DeployStatus | DeployWhy | DeployLock | DeployUnlock
                 | DeployHistory | DeployMetrics | DeployCancel | DeployTrust | DeployTrustRevoke
                 | DeployWhere | DeployLog)


def parse(text: str) -> DeployCommand:
    text = text.strip()
    if not text:
        return DeployModal()
    head = text.split(None, 1)[0].lower()
    rest = text[len(head):].strip()
    if head == "help":
        return DeployHelp()
    if head == "status":
        w = split_words(rest, usage=USAGE, value_flags=set())
        _count(w.positional, 0, 1, "/deploy status [SERVICE]")
        return DeployStatus(_service(w.positional[0]) if w.positional else None)
    if head == "why":
        w = split_words(rest, usage=USAGE, value_flags=set())
        _count(w.positional, 2, 2, "/deploy why SERVICE ENV")
        return DeployWhy(*_target(w.positional))
    if head == "lock":
        w = split_words(rest, usage=USAGE, value_flags={"for", "reason"})
        _count(w.positional, 2, 2, '/deploy lock SERVICE ENV [--for 2h] --reason "..."')
        service, environment = _target(w.positional)
        reason = limits.check_reason(w.flags.get("reason"), usage=USAGE)
        if not reason:
            raise BadInput('a lock needs a reason: `/deploy lock SERVICE ENV --reason "..."`', usage=USAGE)
        duration = DEFAULT_LOCK
        if w.flags.get("for") is not None:
            duration = limits.parse_duration_option(w.flags["for"] or "", option="--for", usage=USAGE)
        return DeployLock(service, environment, reason, duration)
    if head == "unlock":
        w = split_words(rest, usage=USAGE, value_flags=set())
        _count(w.positional, 2, 2, "/deploy unlock SERVICE ENV")
        return DeployUnlock(*_target(w.positional))
    if head == "history":
        w = split_words(rest, usage=USAGE, value_flags=set())
        _count(w.positional, 1, 2, "/deploy history SERVICE [ENV]")
        return DeployHistory(_service(w.positional[0]),
                             _environment(w.positional[1]) if len(w.positional) == 2 else None)
    if head == "metrics":
        w = split_words(rest, usage=USAGE, value_flags={"days"})
        _count(w.positional, 0, 1, "/deploy metrics [SERVICE] [--days 90]")
        days = 90
        if w.flags.get("days") is not None:
            days = limits.whole_number(w.flags["days"] or "", what="--days", low=1, high=MAX_METRICS_DAYS,
                                       usage=USAGE)
        return DeployMetrics(_service(w.positional[0]) if w.positional else None, days)
    if head == "cancel":
        w = split_words(rest, usage=USAGE, value_flags=set())
        _count(w.positional, 1, 1, "/deploy cancel ID")
        return DeployCancel(limits.parse_id(w.positional[0], what="release", usage=USAGE))
    if head == "trust":
        return _parse_trust(rest)
    if head == "where":
        return _parse_where(rest)
    if head == "log":
        w = split_words(rest, usage=USAGE, value_flags=set())
        _count(w.positional, 0, 0, "/deploy log")
        return DeployLog()
    return _parse_request(text)


def _parse_trust(rest: str) -> DeployTrust | DeployTrustRevoke:
    w = split_words(rest, usage=USAGE, value_flags=set())
    if w.positional and w.positional[0].lower() == "revoke":
        _count(w.positional, 4, 4, "/deploy trust revoke @user SERVICE ENV")
        service, environment = _target(w.positional[2:])
        return DeployTrustRevoke(_user(w.positional[1]), service, environment)
    _count(w.positional, 0, 1, "/deploy trust [@user]")
    return DeployTrust(_user(w.positional[0]) if w.positional else None)


def _user(word: str) -> str:
    found = user_id(word)
    if found is None:
        raise BadInput(f"{limits.shown(word)} is not a Slack user; mention them, e.g. @alex", usage=USAGE)
    return found


def _parse_where(rest: str) -> DeployWhere:
    w = split_words(rest, usage=USAGE, value_flags=set())
    if len(w.positional) != 1 or w.flags:
        raise BadInput("`/deploy where` takes one commit SHA (7 to 40 hex digits), a released ref such as `v1.4.2`, "
                       "or `me`: `/deploy where SHA|REF|me`", usage=USAGE)
    word = w.positional[0]
    if word.lower() == "me":
        return DeployWhere(None)
    return DeployWhere(limits.check_ref(word, usage=USAGE))


def _parse_request(text: str) -> DeployRequest:
    w = split_words(text, usage=USAGE, value_flags={"strategy", "reason"})
    words = w.positional
    if "to" in words[1:]:
        at = words.index("to", 1)
        before, after = words[:at], words[at + 1:]
        if len(after) != 1 or len(before) not in (1, 2):
            raise BadInput("expected `/deploy SERVICE [REF] to ENV`", usage=USAGE)
        service, ref, env = before[0], (before[1] if len(before) == 2 else None), after[0]
    elif len(words) == 2:
        service, ref, env = words[0], None, words[1]
    elif len(words) == 3:
        service, ref, env = words
    else:
        raise BadInput(_request_problem(words), usage=USAGE)
    strategy = w.flags.get("strategy")
    if strategy is not None and strategy not in STRATEGIES:
        raise BadInput(f"--strategy must be one of {', '.join(STRATEGIES)}; got {limits.shown(strategy)}",
                       usage=USAGE)
    service, env = _target([service, env])
    if ref is not None:
        limits.check_ref(ref, usage=USAGE)
    return DeployRequest(service, env, ref, strategy, limits.check_reason(w.flags.get("reason"), usage=USAGE))


def _request_problem(words: list[str]) -> str:
    if len(words) == 1:
        subcommand = closest(words[0], SUBCOMMANDS)
        if subcommand is not None:
            return f"{limits.shown(words[0])} is not a sub-command — did you mean `/deploy {subcommand}`?"
        service = words[0] if len(words[0]) <= limits.MAX_NAME_CHARS else "SERVICE"
        return (f"{limits.shown(words[0])} is not a sub-command, and a deploy needs an environment: "
                f"`/deploy {service} [REF] to ENV`")
    return f"too many words ({limits.shown(' '.join(words))}); expected `/deploy SERVICE [REF] [to] ENV`"


def _count(words: list[str], low: int, high: int, form: str) -> None:
    if not low <= len(words) <= high:
        raise BadInput(f"expected `{form}`", usage=USAGE)


def _service(word: str) -> str:
    return limits.check_name(word, what="service", usage=USAGE)


def _environment(word: str) -> str:
    return limits.check_name(word, what="environment", usage=USAGE)


def _target(words: list[str]) -> tuple[str, str]:
    return _service(words[0]), _environment(words[1])
