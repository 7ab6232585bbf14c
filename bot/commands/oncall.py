"""The `/oncall` grammar (§2) and its usage text."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from bot.commands import limits
from bot.commands.suggest import did_you_mean
from bot.commands.tokens import split_words, user_id
from bot.errors import BadInput

USAGE = """*`/oncall`* — shadow on-call: who carries the pager, and with whom
• `/oncall` — who is on call now (primary and shadow) for this channel's rotations
• `/oncall ROTATION` · `/oncall next [ROTATION]` · `/oncall me` — your next shifts, both roles
• `/oncall schedule ROTATION [--weeks 4]` — upcoming pairs; shifts across a DST change are marked
• `/oncall swap ROTATION @user DATE` · `/oncall cover ROTATION FROM TO [@user]` — ask for a swap or cover
• `/oncall away FROM TO` — declare an absence (dates YYYY-MM-DD)
• `/oncall page ROTATION "message"` — page the current pair
• `/oncall page ID` — a page's state and everyone it reached: Slack, SMS, calls, email
• `/oncall ack ID` · `/oncall resolve ID` — acknowledge or resolve a page
• `/oncall shadow-stats [ROTATION]` — shadow shifts and pages seen per developer, graduation status
• `/oncall calendar ROTATION` — a private calendar feed URL
• `/oncall help` — this text
Limits: a page message is at most 1000 characters; dates run from 2000 to 2099, a FROM–TO span at most 366 days."""

MAX_WEEKS = 52
SUBCOMMANDS = ("help", "next", "me", "schedule", "swap", "cover", "away", "page", "ack", "resolve",
               "shadow-stats", "calendar")


@dataclass(frozen=True)
class OncallHelp:
    pass


@dataclass(frozen=True)
class OncallNow:
    rotation: str | None = None


@dataclass(frozen=True)
class OncallNext:
    rotation: str | None = None


@dataclass(frozen=True)
class OncallMe:
    pass


@dataclass(frozen=True)
class OncallSchedule:
    rotation: str
    weeks: int = 4


@dataclass(frozen=True)
class OncallSwap:
    rotation: str
    with_user: str
    day: date


@dataclass(frozen=True)
class OncallCover:
    rotation: str
    start: date
    end: date
    user: str | None = None


@dataclass(frozen=True)
class OncallAway:
    start: date
    end: date


@dataclass(frozen=True)
class OncallPage:
    rotation: str
    message: str


@dataclass(frozen=True)
class OncallPageShow:
    page_id: int


@dataclass(frozen=True)
class OncallAck:
    page_id: int


@dataclass(frozen=True)
class OncallResolve:
    page_id: int


@dataclass(frozen=True)
class OncallShadowStats:
    rotation: str | None = None


@dataclass(frozen=True)
class OncallCalendar:
    rotation: str


OncallCommand = (OncallHelp | OncallNow | OncallNext | OncallMe | OncallSchedule | OncallSwap | OncallCover
                 | OncallAway | OncallPage | OncallPageShow | OncallAck | OncallResolve | OncallShadowStats
                 | OncallCalendar)


def parse(text: str) -> OncallCommand:
    text = text.strip()
    if not text:
        return OncallNow()
    head = text.split(None, 1)[0].lower()
    rest = text[len(head):].strip()
    if head not in SUBCOMMANDS:
        w = split_words(text, usage=USAGE, value_flags=set())
        if len(w.positional) != 1:
            raise BadInput(f"{limits.shown(head)} is not a sub-command or a single rotation name"
                           f"{did_you_mean(head, SUBCOMMANDS, prefix='/oncall ')}", usage=USAGE)
        return OncallNow(_rotation(w.positional[0]))
    w = split_words(rest, usage=USAGE, value_flags={"weeks"})
    args = w.positional
    if w.flags and head != "schedule":
        raise BadInput(f"`/oncall {head}` takes no options", usage=USAGE)
    match head:
        case "help":
            return OncallHelp()
        case "next":
            _count(args, 0, 1, "/oncall next [ROTATION]")
            return OncallNext(_rotation(args[0]) if args else None)
        case "me":
            _count(args, 0, 0, "/oncall me")
            return OncallMe()
        case "schedule":
            _count(args, 1, 1, "/oncall schedule ROTATION [--weeks 4]")
            weeks = limits.whole_number(w.flags.get("weeks") or "4", what="--weeks", low=1, high=MAX_WEEKS,
                                        usage=USAGE)
            return OncallSchedule(_rotation(args[0]), weeks)
        case "swap":
            _count(args, 3, 3, "/oncall swap ROTATION @user DATE")
            return OncallSwap(_rotation(args[0]), _user(args[1]), limits.parse_date(args[2], usage=USAGE))
        case "cover":
            _count(args, 3, 4, "/oncall cover ROTATION FROM TO [@user]")
            start, end = limits.parse_span(args[1], args[2], usage=USAGE)
            return OncallCover(_rotation(args[0]), start, end, _user(args[3]) if len(args) == 4 else None)
        case "away":
            _count(args, 2, 2, "/oncall away FROM TO")
            return OncallAway(*limits.parse_span(args[0], args[1], usage=USAGE))
        case "page":
            if len(args) == 1 and args[0].lstrip("#").isdigit():
                return OncallPageShow(limits.parse_id(args[0], what="page", usage=USAGE))
            if len(args) < 2:
                raise BadInput('expected `/oncall page ROTATION "message"` or `/oncall page ID`', usage=USAGE)
            message = limits.check_page_message(" ".join(args[1:]), usage=USAGE)
            return OncallPage(_rotation(args[0]), message)
        case "ack" | "resolve":
            _count(args, 1, 1, f"/oncall {head} ID")
            page_id = limits.parse_id(args[0], what="page", usage=USAGE)
            return OncallAck(page_id) if head == "ack" else OncallResolve(page_id)
        case "shadow-stats":
            _count(args, 0, 1, "/oncall shadow-stats [ROTATION]")
            return OncallShadowStats(_rotation(args[0]) if args else None)
        case _:
            _count(args, 1, 1, "/oncall calendar ROTATION")
            return OncallCalendar(_rotation(args[0]))


def _count(words: list[str], low: int, high: int, form: str) -> None:
    if not low <= len(words) <= high:
        raise BadInput(f"expected `{form}`", usage=USAGE)


def _user(word: str) -> str:
    found = user_id(word)
    if found is None:
        raise BadInput(f"{limits.shown(word)} is not a Slack user; mention them, e.g. @alex", usage=USAGE)
    return found


def _rotation(word: str) -> str:
    return limits.check_name(word, what="rotation", usage=USAGE)
