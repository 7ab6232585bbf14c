"""The `/rollback` grammar (§2) and its usage text."""

from __future__ import annotations

from dataclasses import dataclass

from bot.commands import limits
from bot.commands.tokens import split_words
from bot.errors import BadInput

USAGE = """*`/rollback`* — undo a bad release in minutes
• `/rollback` — open the rollback form with recent releases
• `/rollback SERVICE ENV [to REF|#DEPLOY_ID] [--reason "..."]` — e.g. `/rollback api production --reason "errors up"`
  Without a target, rolls back to the last release that passed verification in ENV. A target must be a release
  that succeeded in ENV (`#ID`, or its ref or commit) and is not quarantined; a new commit goes through `/deploy`.
  Rollback skips the CI, approval and freeze gates, never authorization, and is recorded like any release.
• `/rollback drill SERVICE ENV` — e.g. `/rollback drill api staging`: roll back to the previous verified release
  and forward again, verifying each step; recorded as a drill (evidence for the `rollback_tested` gate).
• `/rollback help` — this text
Limits: a ref is at most 255 bytes, a reason at most 500 characters."""


@dataclass(frozen=True)
class RollbackHelp:
    pass


@dataclass(frozen=True)
class RollbackModal:
    pass


@dataclass(frozen=True)
class RollbackRequest:
    service: str
    environment: str
    to_ref: str | None = None
    to_release: int | None = None
    reason: str | None = None


@dataclass(frozen=True)
class DrillCommand:
    service: str
    environment: str


RollbackCommand = RollbackHelp | RollbackModal | RollbackRequest | DrillCommand
DRILL_USAGE = "expected `/rollback drill SERVICE ENV`, e.g. `/rollback drill api staging`"


def parse(text: str) -> RollbackCommand:
    text = text.strip()
    if not text:
        return RollbackModal()
    if text.split(None, 1)[0].lower() == "help":
        return RollbackHelp()
    if text.split(None, 1)[0].lower() == "drill":
        return _drill(text.split(None, 1)[1] if len(text.split(None, 1)) > 1 else "")
    w = split_words(text, usage=USAGE, value_flags={"reason"})
    words = w.positional
    target: str | None = None
    if len(words) == 4 and words[2] == "to":
        target = words[3]
    elif len(words) != 2:
        raise BadInput("expected `/rollback SERVICE ENV [to REF|#ID]`", usage=USAGE)
    service = limits.check_name(words[0], what="service", usage=USAGE)
    environment = limits.check_name(words[1], what="environment", usage=USAGE)
    reason = limits.check_reason(w.flags.get("reason"), usage=USAGE)
    if target is None:
        return RollbackRequest(service, environment, reason=reason)
    if target.startswith("#"):
        release_id = limits.parse_id(target, what="release", usage=USAGE)
        return RollbackRequest(service, environment, to_release=release_id, reason=reason)
    return RollbackRequest(service, environment, to_ref=limits.check_ref(target, usage=USAGE), reason=reason)


def _drill(rest: str) -> DrillCommand:
    w = split_words(rest, usage=USAGE, value_flags=set())
    if len(w.positional) != 2:
        got = " ".join(w.positional) or "nothing"
        raise BadInput(f"{DRILL_USAGE}; got {got!r} after `drill`", usage=USAGE)
    return DrillCommand(limits.check_name(w.positional[0], what="service", usage=USAGE),
                        limits.check_name(w.positional[1], what="environment", usage=USAGE))
