"""Phone numbers as they may be shown or logged: only their last four digits."""

from __future__ import annotations

import re

# A run of digits (with the spaces, dots, dashes and brackets people write) long enough to be a number.
MIN_DIGITS = 7  # fewer is an error code or a count, not a phone number
_NUMBER = re.compile(r"\+?\d[\d\s().-]{5,}\d")


def last_four(number: str) -> str:
    digits = re.sub(r"\D", "", number)
    return f"…{digits[-4:]}"


def mask_numbers(text: str) -> str:
    """`text` with every phone-number-like run replaced by its last four digits (Twilio quotes the
    number it refused in its error message)."""
    def masked(match: re.Match[str]) -> str:
        found = match.group(0)
        return last_four(found) if sum(c.isdigit() for c in found) >= MIN_DIGITS else found

    return _NUMBER.sub(masked, text)
