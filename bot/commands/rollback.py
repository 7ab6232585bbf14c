"""The `/rollback` grammar (§2) and its usage text."""

from __future__ import annotations

from dataclasses import dataclass

from bot.commands.tokens import split_words
from bot.errors import BadInput

USAGE = """*`/rollback`* — undo a bad release in minutes
• `/rollback` — open the rollback form with recent releases
• `/rollback SERVICE ENV [to REF|#DEPLOY_ID] [--reason "..."]` — e.g. `/rollback api production --reason "errors up"`
  Without a target, rolls back to the last release that passed verification in ENV. A target must be a release
  that succeeded in ENV (`#ID`, or its ref or commit) and is not quarantined; a new commit goes through `/deploy`.
  Rollback skips the CI, approval and freeze gates, never authorization, and is recorded like any release.
• `/rollback help` — this text"""


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


RollbackCommand = RollbackHelp | RollbackModal | RollbackRequest


def parse(text: str) -> RollbackCommand:
    text = text.strip()
    if not text:
        return RollbackModal()
    if text.split(None, 1)[0].lower() == "help":
        return RollbackHelp()
    w = split_words(text, usage=USAGE, value_flags={"reason"})
    words = w.positional
    target: str | None = None
    if len(words) == 4 and words[2] == "to":
        target = words[3]
    elif len(words) != 2:
        raise BadInput("expected `/rollback SERVICE ENV [to REF|#ID]`", usage=USAGE)
    reason = (w.flags.get("reason") or "").strip() or None
    if target is None:
        return RollbackRequest(words[0], words[1], reason=reason)
    if target.startswith("#"):
        if not target[1:].isdigit():
            raise BadInput(f"{target!r} is not a release id; write it as #42", usage=USAGE)
        return RollbackRequest(words[0], words[1], to_release=int(target[1:]), reason=reason)
    return RollbackRequest(words[0], words[1], to_ref=target, reason=reason)
