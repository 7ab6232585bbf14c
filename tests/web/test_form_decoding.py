"""Form bodies decode exactly as `parse_qsl` decodes them, whichever path the decoder takes."""

from __future__ import annotations

import json
from urllib.parse import parse_qsl, unquote_plus, urlencode

from hypothesis import given
from hypothesis import strategies as st

from bot.web.form_decoding import form_fields, unquote_form

# Characters that mean something to form encoding, to quoted-printable decoding, or to UTF-8.
TRICKY = st.sampled_from(["%", "+", "=", "&", "%2", "%zz", "%3d", "%3D", "%C3", "%A9", "%FF", "\n", "\r\n", " ",
                          "\t", "_", "é", "ü", "💥", "a", "Z", "0", "f", "\x00", "=\n", "%0A", "%20", "%25"])
TEXT = st.lists(st.one_of(TRICKY, st.text(max_size=4)), max_size=30).map("".join)


@given(TEXT)
def test_any_text_decodes_as_parse_qsl_decodes_it(text: str) -> None:
    assert form_fields(text) == dict(parse_qsl(text, keep_blank_values=True))


@given(TEXT)
def test_any_value_unquotes_as_unquote_plus_does(text: str) -> None:
    assert unquote_form(text) == unquote_plus(text)


@given(st.dictionaries(st.text(min_size=1, max_size=10), st.text(max_size=40), max_size=6))
def test_whatever_was_form_encoded_comes_back(fields: dict[str, str]) -> None:
    assert form_fields(urlencode(fields)) == fields


def test_a_clicks_payload_comes_back_whole() -> None:
    payload = json.dumps({"type": "block_actions", "user": {"id": "U0ALICE"}, "actions": [
        {"action_id": "release_approve", "value": "7", "text": {"type": "plain_text", "text": "Approve ✓ 100% = go"}}]})

    assert form_fields(urlencode({"payload": payload})) == {"payload": payload}
