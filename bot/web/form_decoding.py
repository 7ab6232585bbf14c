"""Decoding an `application/x-www-form-urlencoded` body as `dict(urllib.parse.parse_qsl(...))` does, faster.

A click's body is one field, `payload`, holding the whole message as percent-encoded JSON: hundreds
of escapes, which `urllib.parse.unquote` (pure Python on 3.11) decodes one at a time, about 85 µs of
a click's ack (docs/benchmarks.md). Percent escapes are quoted-printable escapes with `%` for `=`,
and `binascii.a2b_qp` decodes those in C. That path is taken only for text whose every `%` starts a
valid escape and which holds nothing but printable ASCII, so that nothing else in it means
something to the quoted-printable decoder (whitespace, line ends, `=`, which is re-escaped);
anything else is decoded by `urllib.parse.unquote_plus` itself. The result is the same either way
(a property test checks it against `parse_qsl`).
"""

from __future__ import annotations

import binascii
import re
from urllib.parse import unquote_plus

# Printable ASCII but `%`, with every `%` followed by two hex digits.
_QP_SAFE = re.compile(r"[\x21-\x24\x26-\x7e]*(?:%[0-9A-Fa-f]{2}[\x21-\x24\x26-\x7e]*)*")


def form_fields(text: str) -> dict[str, str]:
    """`dict(parse_qsl(text, keep_blank_values=True))`."""
    fields: dict[str, str] = {}
    for pair in text.split("&"):
        if not pair:
            continue
        name, _, value = pair.partition("=")
        fields[unquote_form(name)] = unquote_form(value)
    return fields


def unquote_form(text: str) -> str:
    """`urllib.parse.unquote_plus(text)`: `+` is a space, `%XX` a byte, the bytes UTF-8 (errors replaced)."""
    if "%" not in text and "+" not in text:
        return text
    if not _QP_SAFE.fullmatch(text):
        return unquote_plus(text)
    quoted_printable = text.replace("=", "=3D").replace("+", "=20").replace("%", "=")
    return binascii.a2b_qp(quoted_printable.encode("ascii")).decode("utf-8", "replace")
