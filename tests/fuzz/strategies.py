"""What the fuzz tests send: command text people (and pasted logs) type, JSON of any shape, and
near-valid payloads built from the real shapes with one field replaced or removed."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from hypothesis import strategies as st

from bot.commands import deploy, oncall

# Every character a user can paste (surrogates cannot be sent as UTF-8), with the troublesome ones drawn
# often: NUL (PostgreSQL's text refuses it), escapes, bidi overrides, BOM, line separators, astral planes.
NASTY = "\x00\x01\x1b\x7f\r\n\t\u0085\u00a0\u200b\u2028\u202e\ufeff\ufffd\U0001f600\U0010ffff"
ANY_CHAR = st.characters(exclude_categories=["Cs"])


def any_text(*, min_size: int = 0, max_size: int = 40) -> st.SearchStrategy[str]:
    """Text of any characters; half the time with one of the troublesome ones somewhere in it."""
    half = max(0, max_size // 2 - 1)
    nasty = st.just("\x00") | st.sampled_from(NASTY)  # NUL half the time: it is the one storage refuses
    spiked = st.tuples(st.text(ANY_CHAR, max_size=half), nasty, st.text(ANY_CHAR, max_size=half))
    return st.text(ANY_CHAR, min_size=min_size, max_size=max_size) | spiked.map("".join)

QUOTES = st.sampled_from(['"', "'", "\u201c", "\u201d", "\u201e", "\u2018", "\u2019", "`", "\\"])
FLAGS = st.sampled_from(["--reason", "--for", "--days", "--weeks", "--strategy", "--", "---", "--reason=",
                         "--for=", "--days=", "--weeks=", "--strategy=", "--color", "-f", "--reason=\"x"])
NUMBERS = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.integers(min_value=-(10**30), max_value=10**30).map(lambda n: f"#{n}"),
    st.sampled_from(["0", "#0", "2147483647", "2147483648", "9" * 5000, "1e309", "nan", "inf", "-0", "0x1f",
                     "²", "١٢", "٣", "1_000", "#", "##1", "+1", " 1"]),
    st.tuples(st.integers(min_value=-5, max_value=10**25),
              st.sampled_from(["ms", "s", "m", "h", "d", "w", "y", "", "hh", "1h30m"])).map(lambda t: f"{t[0]}{t[1]}"),
)
KNOWN = st.sampled_from(deploy.SUBCOMMANDS + oncall.SUBCOMMANDS + deploy.STRATEGIES + (
    "to", "api", "staging", "production", "web", "api-oncall", "web-oncall", "nosuch", "<@U0BOB>",
    "<@U0BOB|bob>", "<@UNOTAUSER>", "<@>", "<!subteam^S0SRE|sre>", "<#C0CHAN>", "@alex", "HEAD", "main", "v1.0.0",
    "a..b", "@{1}", ".lock", "refs/heads/main"))
DATES = st.one_of(st.dates().map(date.isoformat), st.sampled_from(["2026-02-30", "2026-13-01", "1999-12-31",
                                                                  "2100-01-01", "2026-1-1", "20261201"]))
LONG = st.integers(min_value=60, max_value=3000).flatmap(
    lambda n: st.sampled_from(["a" * n, "é" * n, "😀" * n, "\u200b" * n, "x " * n, '"' * n]))
WORD = st.one_of(KNOWN, FLAGS, NUMBERS, DATES, QUOTES, LONG, any_text(max_size=16),
                 st.text(st.characters(categories=["Cc", "Cf", "Zs", "Zl", "Zp"]), min_size=1, max_size=4))
# A command line: words joined by whatever separates them, sometimes a known sub-command first.
COMMAND_TEXT = st.one_of(
    st.lists(WORD, max_size=8).flatmap(
        lambda words: st.sampled_from([" ", "  ", "\t", "\n", "\u00a0", "\u3000"]).map(lambda sep: sep.join(words))),
    st.tuples(KNOWN, st.lists(WORD, max_size=6)).map(lambda t: " ".join([t[0], *t[1]])),
    any_text(max_size=200),
    LONG,
)

# JSON of any shape: what a misconfigured sender, a proxy or an attacker may post.
JSON_SCALARS = (st.none() | st.booleans() | st.integers(min_value=-(10**40), max_value=10**40)
                | st.floats(allow_nan=False, allow_infinity=False) | any_text(max_size=30)
                | st.sampled_from(["", "firing", "resolved", "trigger", "acknowledge", "resolve", "4", "critical",
                                   "0001-01-01T00:00:00Z", "2026-11-18T09:55:00Z", "not a date", "9" * 400]))
JSON = st.recursive(JSON_SCALARS, lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(any_text(max_size=12), inner, max_size=5), max_leaves=24)


def near_valid(base: dict[str, Any], data: st.DataObject, *, keep: frozenset[str] = frozenset()) -> dict[str, Any]:
    """`base` with one to three fields (at any depth) replaced by arbitrary JSON or removed; `keep` names
    top-level fields left alone (a routing key, so the request gets past authentication)."""
    body = json.loads(json.dumps(base))
    for _ in range(data.draw(st.integers(min_value=1, max_value=3), label="changes")):
        target: Any = body
        path = []
        while True:
            keys = sorted(k for k in target if not (target is body and k in keep)) if isinstance(target, dict) \
                else list(range(len(target)))
            if not keys:
                break
            key = data.draw(st.sampled_from(keys), label="field")
            path.append(key)
            if isinstance(target[key], dict | list) and target[key] and data.draw(st.booleans(), label="deeper"):
                target = target[key]
                continue
            if isinstance(target, dict) and data.draw(st.booleans(), label="remove"):
                del target[key]
            else:
                target[key] = data.draw(JSON, label="value")
            break
    return body
