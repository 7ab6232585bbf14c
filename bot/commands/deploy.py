"""The `/deploy` grammar (§2) and its usage text."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from bot.commands.tokens import split_words
from bot.config.durations import DurationError, parse_duration
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
• `/deploy help` — this text"""

STRATEGIES = ("rolling", "canary", "blue-green")
SUBCOMMANDS = ("help", "status", "why", "lock", "unlock", "history", "metrics", "cancel")
DEFAULT_LOCK = timedelta(hours=2)


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


DeployCommand = (DeployHelp | DeployModal | DeployRequest | DeployStatus | DeployWhy | DeployLock | DeployUnlock
                 | DeployHistory | DeployMetrics | DeployCancel)


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
        return DeployStatus(w.positional[0] if w.positional else None)
    if head == "why":
        w = split_words(rest, usage=USAGE, value_flags=set())
        _count(w.positional, 2, 2, "/deploy why SERVICE ENV")
        return DeployWhy(*w.positional)
    if head == "lock":
        w = split_words(rest, usage=USAGE, value_flags={"for", "reason"})
        _count(w.positional, 2, 2, '/deploy lock SERVICE ENV [--for 2h] --reason "..."')
        reason = (w.flags.get("reason") or "").strip()
        if not reason:
            raise BadInput('a lock needs a reason: `/deploy lock SERVICE ENV --reason "..."`', usage=USAGE)
        duration = DEFAULT_LOCK
        if w.flags.get("for") is not None:
            try:
                duration = parse_duration(w.flags["for"] or "")
            except DurationError as exc:
                raise BadInput(f"--for: {exc}", usage=USAGE) from None
            if duration <= timedelta(0):
                raise BadInput("--for must be longer than zero", usage=USAGE)
        return DeployLock(w.positional[0], w.positional[1], reason, duration)
    if head == "unlock":
        w = split_words(rest, usage=USAGE, value_flags=set())
        _count(w.positional, 2, 2, "/deploy unlock SERVICE ENV")
        return DeployUnlock(*w.positional)
    if head == "history":
        w = split_words(rest, usage=USAGE, value_flags=set())
        _count(w.positional, 1, 2, "/deploy history SERVICE [ENV]")
        return DeployHistory(*w.positional)
    if head == "metrics":
        w = split_words(rest, usage=USAGE, value_flags={"days"})
        _count(w.positional, 0, 1, "/deploy metrics [SERVICE] [--days 90]")
        days = 90
        if w.flags.get("days") is not None:
            raw = w.flags["days"] or ""
            if not raw.isdigit() or not 1 <= int(raw) <= 3650:
                raise BadInput(f"--days takes a whole number of days from 1 to 3650; got {raw!r}", usage=USAGE)
            days = int(raw)
        return DeployMetrics(w.positional[0] if w.positional else None, days)
    if head == "cancel":
        w = split_words(rest, usage=USAGE, value_flags=set())
        _count(w.positional, 1, 1, "/deploy cancel ID")
        return DeployCancel(_release_id(w.positional[0]))
    return _parse_request(text)


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
        raise BadInput(f"--strategy must be one of {', '.join(STRATEGIES)}; got {strategy!r}", usage=USAGE)
    reason = w.flags.get("reason")
    return DeployRequest(service, env, ref, strategy, reason.strip() if reason else None)


def _request_problem(words: list[str]) -> str:
    if len(words) == 1:
        return (f"`{words[0]}` is not a sub-command, and a deploy needs an environment: "
                f"`/deploy {words[0]} [REF] to ENV`")
    return f"too many words ({' '.join(words)}); expected `/deploy SERVICE [REF] [to] ENV`"


def _count(words: list[str], low: int, high: int, form: str) -> None:
    if not low <= len(words) <= high:
        raise BadInput(f"expected `{form}`", usage=USAGE)


def _release_id(word: str) -> int:
    raw = word.removeprefix("#")
    if not raw.isdigit():
        raise BadInput(f"{word!r} is not a release id; ids are numbers like 42 or #42", usage=USAGE)
    return int(raw)
