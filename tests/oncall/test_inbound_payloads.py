"""Property tests for the webhook payload parsers: whatever arrives, the only failure is a PayloadError."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.oncall.inbound_payloads import PayloadError, parse_alertmanager, parse_event, routing_key_of
from tests.oncall.paging_scenario import alertmanager_payload, pagerduty_event

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)


def _parse_event(raw: bytes) -> Any:
    body, _ = routing_key_of(raw)
    return parse_event(body)


def _only_payload_errors(parse: Any, raw: bytes) -> None:
    try:
        parse(raw)
    except PayloadError as exc:
        assert exc.reason and all(isinstance(e, str) for e in exc.errors)


@given(st.binary(max_size=200))
def test_arbitrary_bytes_are_refused_cleanly(raw: bytes) -> None:
    _only_payload_errors(parse_alertmanager, raw)
    _only_payload_errors(_parse_event, raw)


@given(json_values)
def test_arbitrary_json_is_refused_cleanly(value: Any) -> None:
    raw = json.dumps(value).encode()
    _only_payload_errors(parse_alertmanager, raw)
    _only_payload_errors(_parse_event, raw)


def _with_field_replaced(base: dict[str, Any], data: st.DataObject) -> dict[str, Any]:
    """A valid payload with one field (perhaps nested one level) replaced or removed."""
    body = json.loads(json.dumps(base))
    key = data.draw(st.sampled_from(sorted(body)))
    target = body
    if isinstance(body[key], dict) and body[key] and data.draw(st.booleans()):
        target, key = body[key], data.draw(st.sampled_from(sorted(body[key])))
    elif isinstance(body[key], list) and body[key] and isinstance(body[key][0], dict) and data.draw(st.booleans()):
        target, key = body[key][0], data.draw(st.sampled_from(sorted(body[key][0])))
    if data.draw(st.booleans()):
        del target[key]
    else:
        target[key] = data.draw(json_values)
    return body


@settings(max_examples=200)
@given(st.data())
def test_near_valid_alertmanager_payloads_parse_or_are_refused_cleanly(data: st.DataObject) -> None:
    body = _with_field_replaced(alertmanager_payload(), data)
    _only_payload_errors(parse_alertmanager, json.dumps(body).encode())


@settings(max_examples=200)
@given(st.data(), st.sampled_from(["trigger", "acknowledge", "resolve"]))
def test_near_valid_events_parse_or_are_refused_cleanly(data: st.DataObject, action: str) -> None:
    body = _with_field_replaced(pagerduty_event(action), data)
    _only_payload_errors(_parse_event, json.dumps(body).encode())


def test_deeply_nested_json_is_refused_not_crashed() -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    _only_payload_errors(parse_alertmanager, deep)
    _only_payload_errors(_parse_event, b'{"routing_key": "k", "payload": ' + deep + b"}")


def test_a_real_payload_parses_with_go_zero_time_as_no_end() -> None:
    payload = parse_alertmanager(json.dumps(alertmanager_payload()).encode())
    [alert] = payload.alerts
    assert alert.ended_at is None and alert.starts_at.tzinfo is not None
    assert alert.starts_at.microsecond == 123456
    resolved = parse_alertmanager(json.dumps(alertmanager_payload(status="resolved")).encode()).alerts[0]
    assert resolved.ended_at is not None and resolved.ended_at.isoformat() == "2026-11-18T10:20:00+00:00"


@pytest.mark.parametrize("body", [
    alertmanager_payload(fingerprint="c0ffee\x00"), alertmanager_payload(labels={"team\x00": "sre"}),
    pagerduty_event(dedup_key="db\x00disk"), {**pagerduty_event(), "payload": {
        **pagerduty_event()["payload"], "custom_details": {"lines": ["ok", "bad\x00"]}}},
])
def test_a_nul_anywhere_is_refused_before_it_reaches_storage(body: dict[str, Any]) -> None:
    # Found by tests/fuzz: PostgreSQL's text refuses NUL, so a label or dedup key holding one was a 500.
    raw = json.dumps(body).encode()
    for parse in (parse_alertmanager, routing_key_of):
        with pytest.raises(PayloadError, match="NUL character"):
            parse(raw)
    utf16 = json.dumps(body).encode("utf-16")  # json.loads reads UTF-16 too, where the escape looks different
    with pytest.raises(PayloadError, match="NUL character"):
        routing_key_of(utf16)
