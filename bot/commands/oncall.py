"""The `/oncall` grammar (§2) and its usage text."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from bot.commands.tokens import split_words, user_id
from bot.errors import BadInput

USAGE = """*`/oncall`* — shadow on-call: who carries the pager, and with whom
• `/oncall` — who is on call now (primary and shadow) for this channel's rotations
• `/oncall ROTATION` · `/oncall next [ROTATION]` · `/oncall me` — your next shifts, both roles
• `/oncall schedule ROTATION [--weeks 4]` — upcoming pairs; shifts across a DST change are marked
• `/oncall swap ROTATION @user DATE` · `/oncall cover ROTATION FROM TO [@user]` — ask for a swap or cover
• `/oncall away FROM TO` — declare an absence (dates YYYY-MM-DD)
• `/oncall page ROTATION "message"` — page the current pair
• `/oncall ack ID` · `/oncall resolve ID` — acknowledge or resolve a page
• `/oncall shadow-stats [ROTATION]` — shadow shifts and pages seen per developer, graduation status
• `/oncall calendar ROTATION` — a private calendar feed URL
• `/oncall help` — this text"""

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
                 | OncallAway | OncallPage | OncallAck | OncallResolve | OncallShadowStats | OncallCalendar)


def parse(text: str) -> OncallCommand:
    text = text.strip()
    if not text:
        return OncallNow()
    head = text.split(None, 1)[0].lower()
    rest = text[len(head):].strip()
    if head not in SUBCOMMANDS:
        w = split_words(text, usage=USAGE, value_flags=set())
        if len(w.positional) != 1:
            raise BadInput(f"`{head}` is not a sub-command or a single rotation name", usage=USAGE)
        return OncallNow(w.positional[0])
    w = split_words(rest, usage=USAGE, value_flags={"weeks"})
    args = w.positional
    if w.flags and head != "schedule":
        raise BadInput(f"`/oncall {head}` takes no options", usage=USAGE)
    match head:
        case "help":
            return OncallHelp()
        case "next":
            _count(args, 0, 1, "/oncall next [ROTATION]")
            return OncallNext(args[0] if args else None)
        case "me":
            _count(args, 0, 0, "/oncall me")
            return OncallMe()
        case "schedule":
            _count(args, 1, 1, "/oncall schedule ROTATION [--weeks 4]")
            raw = w.flags.get("weeks") or "4"
            if not raw.isdigit() or not 1 <= int(raw) <= 52:
                raise BadInput(f"--weeks takes a whole number from 1 to 52; got {raw!r}", usage=USAGE)
            return OncallSchedule(args[0], int(raw))
        case "swap":
            _count(args, 3, 3, "/oncall swap ROTATION @user DATE")
            return OncallSwap(args[0], _user(args[1]), _date(args[2]))
        case "cover":
            _count(args, 3, 4, "/oncall cover ROTATION FROM TO [@user]")
            start, end = _dates(args[1], args[2])
            return OncallCover(args[0], start, end, _user(args[3]) if len(args) == 4 else None)
        case "away":
            _count(args, 2, 2, "/oncall away FROM TO")
            return OncallAway(*_dates(args[0], args[1]))
        case "page":
            if len(args) < 2:
                raise BadInput('expected `/oncall page ROTATION "message"`', usage=USAGE)
            message = " ".join(args[1:]).strip()
            if not message:
                raise BadInput("a page needs a message saying what is wrong", usage=USAGE)
            return OncallPage(args[0], message)
        case "ack" | "resolve":
            _count(args, 1, 1, f"/oncall {head} ID")
            raw = args[0].removeprefix("#")
            if not raw.isdigit():
                raise BadInput(f"{args[0]!r} is not a page id; ids are numbers like 7 or #7", usage=USAGE)
            return OncallAck(int(raw)) if head == "ack" else OncallResolve(int(raw))
        case "shadow-stats":
            _count(args, 0, 1, "/oncall shadow-stats [ROTATION]")
            return OncallShadowStats(args[0] if args else None)
        case _:
            _count(args, 1, 1, "/oncall calendar ROTATION")
            return OncallCalendar(args[0])


def _count(words: list[str], low: int, high: int, form: str) -> None:
    if not low <= len(words) <= high:
        raise BadInput(f"expected `{form}`", usage=USAGE)


def _user(word: str) -> str:
    found = user_id(word)
    if found is None:
        raise BadInput(f"{word!r} is not a Slack user; mention them, e.g. @alex", usage=USAGE)
    return found


def _date(word: str) -> date:
    try:
        return date.fromisoformat(word)
    except ValueError:
        raise BadInput(f"{word!r} is not a date; write dates as YYYY-MM-DD, e.g. 2026-12-24", usage=USAGE) from None


def _dates(first: str, second: str) -> tuple[date, date]:
    start, end = _date(first), _date(second)
    if end < start:
        raise BadInput(f"{second} is before {first}", usage=USAGE)
    return start, end
