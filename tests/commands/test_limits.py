"""The input limits (§2): what each check accepts stays within its limit, anything else is a BadInput.

The grammar-wide properties (any command text, every field of what parses) are in test_grammars.py.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.commands import limits
from bot.errors import BadInput

NUMBERS = st.integers(min_value=-10, max_value=10**30).map(str) | st.text(st.characters(categories=["Nd", "No"]),
                                                                           min_size=1, max_size=12)


@pytest.mark.parametrize(("word", "expected"), [("1", 1), ("#42", 42), ("2147483647", 2147483647), ("007", 7)])
def test_ids_from_1_to_the_postgresql_integer_limit(word: str, expected: int) -> None:
    assert limits.parse_id(word, what="release", usage="u") == expected


@pytest.mark.parametrize("word", ["0", "2147483648", "-1", "+1", "1e3", "²", "١٢", "#", "", " 1", "1\n", "9" * 5000])
def test_anything_else_is_not_an_id(word: str) -> None:
    with pytest.raises(BadInput, match="is not a release id; ids are whole numbers from 1 to 2147483647") as caught:
        limits.parse_id(word, what="release", usage="u")
    assert caught.value.usage == "u"
    assert len(caught.value.message) < 200  # the value is quoted cut short


@given(NUMBERS | st.text(max_size=30))
def test_a_button_value_is_an_id_in_range_or_names_nothing(value: str) -> None:
    try:
        found = limits.parse_button_id(value, what="page")
    except BadInput as exc:
        assert exc.message == "this button does not name a page" and exc.usage is None
    else:
        assert 1 <= found <= limits.MAX_ID


@pytest.mark.parametrize("value", [None, 7, ["7"], {"id": 7}])
def test_a_button_value_that_is_not_text_names_nothing(value: object) -> None:
    with pytest.raises(BadInput, match="this button does not name a release"):
        limits.parse_button_id(value, what="release")


@given(NUMBERS)
def test_whole_numbers_stay_in_their_range(raw: str) -> None:
    try:
        found = limits.whole_number(raw, what="--weeks", low=1, high=52, usage="u")
    except BadInput as exc:
        assert exc.message.startswith("--weeks takes a whole number from 1 to 52; got ")
    else:
        assert 1 <= found <= 52 and raw.isascii()


@pytest.mark.parametrize("ref", ["v1.4.2", "main", "release/2026-11", "0a1b2c3d", "feature/ü", "v" + "é" * 127])
def test_git_ref_names_up_to_255_bytes_are_refs(ref: str) -> None:
    assert limits.check_ref(ref, usage=None) == ref


@pytest.mark.parametrize(("ref", "complaint"), [
    ("a" * 256, "at most 255 bytes; this one is 256"), ("é" * 128, "at most 255 bytes; this one is 256"),
    ("v1 2", "a space"), ("v1\t2", "a space"), ("v1\x00", "invisible"), ("v1\u200b", "invisible"),
    ("main~1", "'~'"), ("a:b", "':'"), ("a..b", "hold .."), ("-rf", "start with -"), ("a.", "end with ."),
    ("@", "be @"), ("a@{1}", "@{"), ("a/", "empty part"), ("/a", "empty part"), ("a//b", "empty part"),
    (".hidden", "starts with ."), ("a/.b", "starts with ."), ("a.lock", "ends with .lock"),
    ("a.lock/b", "ends with .lock"),
])
def test_anything_else_is_not_a_ref(ref: str, complaint: str) -> None:
    with pytest.raises(BadInput, match=complaint):
        limits.check_ref(ref, usage=None)


@given(st.text(max_size=300) | st.text(st.characters(min_codepoint=0x80), min_size=60, max_size=130))
def test_an_accepted_ref_fits_the_limit_and_is_one_word(ref: str) -> None:
    try:
        limits.check_ref(ref, usage=None)
    except BadInput:
        return
    assert 0 < len(ref.encode()) <= limits.MAX_REF_BYTES and ref.split() == [ref]


def test_reasons_are_stripped_and_at_most_500_characters() -> None:
    assert limits.check_reason("  the fix  ", usage=None) == "the fix"
    assert limits.check_reason("   ", usage=None) is None and limits.check_reason(None, usage=None) is None
    assert limits.check_reason("x" * 500, usage=None) == "x" * 500
    with pytest.raises(BadInput, match="a reason is at most 500 characters; this one is 501"):
        limits.check_reason("x" * 501, usage=None)


def test_page_messages_are_at_most_1000_characters() -> None:
    assert limits.check_page_message("x" * 1000, usage=None) == "x" * 1000
    with pytest.raises(BadInput, match="at most 1000 characters; this one is 1001"):
        limits.check_page_message("x" * 1001, usage=None)
    with pytest.raises(BadInput, match="needs a message"):
        limits.check_page_message("  ", usage=None)


@pytest.mark.parametrize(("raw", "expected"), [("1s", timedelta(seconds=1)), ("365d", timedelta(days=365)),
                                               ("52w", timedelta(weeks=52)), ("1h30m", timedelta(minutes=90))])
def test_durations_from_a_second_to_a_year(raw: str, expected: timedelta) -> None:
    assert limits.parse_duration_option(raw, option="--for", usage=None) == expected


@pytest.mark.parametrize(("raw", "complaint"), [
    ("0s", "from 1s up to 365d"), ("999ms", "from 1s up to 365d"), ("365d1s", "from 1s up to 365d"),
    ("9999999999999999999999s", "too long a duration"), ("90", "no unit"),
])
def test_durations_out_of_range_are_refused(raw: str, complaint: str) -> None:
    with pytest.raises(BadInput, match=f"--for.*{complaint}"):
        limits.parse_duration_option(raw, option="--for", usage=None)


@given(st.integers(min_value=0, max_value=10**25), st.sampled_from(["ms", "s", "m", "h", "d", "w"]))
def test_an_accepted_duration_is_within_a_second_and_a_year(count: int, unit: str) -> None:
    try:
        found = limits.parse_duration_option(f"{count}{unit}", option="--for", usage=None)
    except BadInput:
        return
    assert limits.MIN_DURATION <= found <= limits.MAX_DURATION


@pytest.mark.parametrize(("first", "second", "complaint"), [
    ("2026-12-03", "2026-12-01", "before"), ("2026-01-01", "2027-01-02", "more than 366 days"),
    ("1999-12-31", "2026-01-01", "out of range"), ("2026-01-01", "9999-12-31", "out of range"),
    ("2026-13-01", "2026-12-01", "not a date"),
])
def test_date_spans_are_checked(first: str, second: str, complaint: str) -> None:
    with pytest.raises(BadInput, match=complaint):
        limits.parse_span(first, second, usage=None)


def test_a_leap_year_is_one_span() -> None:
    assert limits.parse_span("2028-01-01", "2028-12-31", usage=None) == (date(2028, 1, 1), date(2028, 12, 31))


def test_names_are_at_most_64_characters() -> None:
    assert limits.check_name("a" * 64, what="service", usage=None) == "a" * 64
    with pytest.raises(BadInput, match="service names are at most 64 characters"):
        limits.check_name("a" * 65, what="service", usage=None)


@pytest.mark.parametrize("word", ["", " ", "\u3000"])
def test_an_empty_or_blank_name_names_nothing(word: str) -> None:
    # `/deploy "" staging` used to parse into a request for the service named "" (found by tests/fuzz).
    with pytest.raises(BadInput, match="a service name cannot be empty or blank"):
        limits.check_name(word, what="service", usage=None)
