"""The limits on what people send Switchman (§2), checked while parsing so nothing downstream sees a
value out of range, and the one parser of button values.

- a ref: at most 255 bytes of UTF-8 (git's own limit), shaped like a git ref name
- a reason: at most 500 characters
- a page message (`/oncall page`): at most 1000 characters — the stored title's width, and more than
  anyone reads on a phone at 3 a.m.
- a service, environment or rotation name: at most 64 characters (the stored width)
- an id (release, page, swap request): 1 to 2147483647, PostgreSQL's `integer`
- a duration (`--for`): 1s up to 365 days
- a date: in the years 2000 to 2099; a FROM–TO span at most 366 days

Every check raises BadInput saying what was wrong, with the caller's usage.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, timedelta

from bot.config.durations import DurationError, parse_duration
from bot.errors import BadInput

MAX_REF_BYTES = 255
MAX_REASON_CHARS = 500
MAX_PAGE_MESSAGE_CHARS = 1000
MAX_NAME_CHARS = 64
MAX_ID = 2_147_483_647
MIN_DURATION = timedelta(seconds=1)
MAX_DURATION = timedelta(days=365)
FIRST_DATE, LAST_DATE = date(2000, 1, 1), date(2099, 12, 31)
MAX_SPAN_DAYS = 366

_DIGITS = re.compile(r"[0-9]+")  # ASCII only: str.isdigit() also says yes to "²", which int() refuses
_GIT_SPECIALS = "~^:?*[\\"
_SHOWN = 40


def shown(text: str) -> str:
    """A typed value quoted in a reply, cut short so an over-long one cannot swamp the message."""
    return repr(text if len(text) <= _SHOWN else text[:_SHOWN] + "…")


def whole_number(raw: str, *, what: str, low: int, high: int, usage: str | None) -> int:
    """`raw` as an int within low..high; digits only, no sign."""
    # Length first: int() of thousands of digits is slow, and past 4300 it raises ValueError.
    if _DIGITS.fullmatch(raw) is None or len(raw.lstrip("0")) > len(str(high)) or not low <= int(raw) <= high:
        raise BadInput(f"{what} takes a whole number from {low} to {high}; got {shown(raw)}", usage=usage)
    return int(raw)


def parse_id(word: str, *, what: str, usage: str | None) -> int:
    """An id typed as `42` or `#42`."""
    raw = word.removeprefix("#")
    if _DIGITS.fullmatch(raw) is None or len(raw.lstrip("0")) > len(str(MAX_ID)) or not 1 <= int(raw) <= MAX_ID:
        raise BadInput(f"{shown(word)} is not a {what} id; ids are whole numbers from 1 to {MAX_ID}, "
                       "like 42 or #42", usage=usage)
    return int(raw)


def parse_button_id(value: object, *, what: str) -> int:
    """The id a button carries as its value; anything else did not come from a button Switchman drew."""
    if not isinstance(value, str):
        raise BadInput(f"this button does not name a {what}")
    try:
        return parse_id(value, what=what, usage=None)
    except BadInput:
        raise BadInput(f"this button does not name a {what}") from None


def check_ref(ref: str, *, usage: str | None) -> str:
    """A ref within git's length limit and with the shape of a git ref name (`git check-ref-format`)."""
    problem = _ref_problem(ref)
    if problem:
        raise BadInput(f"{shown(ref)} is not a ref: {problem}", usage=usage)
    size = len(ref.encode())
    if size > MAX_REF_BYTES:
        raise BadInput(f"a ref is at most {MAX_REF_BYTES} bytes; this one is {size}", usage=usage)
    return ref


def _ref_problem(ref: str) -> str | None:
    if not ref:
        return "it is empty"
    for char in ref:
        if char.isspace() or unicodedata.category(char)[0] in "CZ":
            return "it contains a space or an invisible character"
        if char in _GIT_SPECIALS:
            return f"git does not allow {char!r} in a ref name"
    if ref.startswith("-") or ref.endswith(".") or ref == "@" or ".." in ref or "@{" in ref:
        return "git does not allow a ref name to start with -, end with ., be @, or hold .. or @{"
    if any(not part or part.startswith(".") or part.endswith(".lock") for part in ref.split("/")):
        return "git does not allow an empty part between slashes, or a part that starts with . or ends with .lock"
    return None


def check_reason(reason: str | None, *, usage: str | None) -> str | None:
    """A stripped reason, None when blank."""
    text = (reason or "").strip()
    if len(text) > MAX_REASON_CHARS:
        raise BadInput(f"a reason is at most {MAX_REASON_CHARS} characters; this one is {len(text)}", usage=usage)
    return text or None


def check_page_message(message: str, *, usage: str | None) -> str:
    text = message.strip()
    if not text:
        raise BadInput("a page needs a message saying what is wrong", usage=usage)
    if len(text) > MAX_PAGE_MESSAGE_CHARS:
        raise BadInput(f"a page message is at most {MAX_PAGE_MESSAGE_CHARS} characters; this one is {len(text)}. "
                       "Say what is wrong in a line or two and link the details.", usage=usage)
    return text


def check_name(word: str, *, what: str, usage: str | None) -> str:
    """A service, environment or rotation name; whether it exists is the configuration's to say."""
    if not word.strip():  # `""` on the command line is a word, but names no service
        raise BadInput(f"a {what} name cannot be empty or blank", usage=usage)
    if len(word) > MAX_NAME_CHARS:
        raise BadInput(f"{what} names are at most {MAX_NAME_CHARS} characters; {shown(word)} is {len(word)}",
                       usage=usage)
    return word


def parse_duration_option(raw: str, *, option: str, usage: str | None) -> timedelta:
    """A `--for 2h`-style option: a duration from 1s up to 365 days."""
    try:
        duration = parse_duration(raw)
    except DurationError as exc:
        raise BadInput(f"{option}: {exc}", usage=usage) from None
    if not MIN_DURATION <= duration <= MAX_DURATION:
        raise BadInput(f"{option} takes a duration from 1s up to {MAX_DURATION.days}d; got {shown(raw)}",
                       usage=usage)
    return duration


def parse_date(word: str, *, usage: str | None) -> date:
    try:
        day = date.fromisoformat(word)
    except ValueError:
        raise BadInput(f"{shown(word)} is not a date; write dates as YYYY-MM-DD, e.g. 2026-12-24",
                       usage=usage) from None
    if not FIRST_DATE <= day <= LAST_DATE:
        raise BadInput(f"{word} is out of range; dates go from {FIRST_DATE} to {LAST_DATE}", usage=usage)
    return day


def parse_span(first: str, second: str, *, usage: str | None) -> tuple[date, date]:
    """FROM and TO, both days included: TO not before FROM, at most 366 days in all."""
    start, end = parse_date(first, usage=usage), parse_date(second, usage=usage)
    if end < start:
        raise BadInput(f"{second} is before {first}", usage=usage)
    if (end - start).days + 1 > MAX_SPAN_DAYS:
        raise BadInput(f"{first} to {second} is more than {MAX_SPAN_DAYS} days; split it up", usage=usage)
    return start, end
