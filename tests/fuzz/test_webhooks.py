"""Arbitrary bodies to every webhook: Alertmanager (with the bearer secret), PagerDuty's events at its three
paths (with a routing key Switchman knows), and heartbeats.

The answer is 2xx for what the parsers accept, 400 with a reason for what they refuse, 401 for a wrong
secret, key or heartbeat — never a 5xx — and a refused request stores nothing. The parsers decide what is
valid, so the test asks them (`parse_alertmanager`, `parse_event`) and holds the endpoint to their answer.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.oncall.inbound_payloads import PayloadError, parse_alertmanager, parse_event, routing_key_of
from bot.web.webhooks import ALERTMANAGER_PATH, EVENTS_PATHS
from tests.contracts.slack_contract import SlackContract
from tests.fuzz.bed import DATABASES, Bed, running_bed
from tests.fuzz.policy import fuzz
from tests.fuzz.strategies import ANY_CHAR, JSON, any_text, near_valid
from tests.oncall.paging_scenario import (
    API_KEY,
    SECRET,
    WEB_KEY,
    alertmanager_payload,
    bearer,
    pagerduty_event,
    webhook_url,
)
from tests.oncall.test_heartbeats import BEAT_ENV, BEAT_SECRET
from tests.oncall.test_heartbeats import CONFIG as HEARTBEAT_CONFIG

BODIES = st.one_of(JSON.map(lambda v: json.dumps(v).encode()), st.binary(max_size=300),
                   any_text(max_size=200).map(str.encode),
                   st.sampled_from([b"", b"{", b"[]", b"null", b'{"a":' * 3000, b"\xff\xfe", b'{"version": "4"}']))


@pytest.fixture(scope="module", params=DATABASES)
def bed(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
        slack_contract: SlackContract) -> Iterator[Bed]:
    with running_bed(request, tmp_path_factory.mktemp("fuzz-webhooks"), slack_contract, config=HEARTBEAT_CONFIG,
                     environ=BEAT_ENV) as running:
        yield running


async def post_raw(bed: Bed, path: str, raw: bytes, headers: dict[str, str]) -> tuple[int, Any]:
    """POST as a sender would; the answer parsed as JSON when it is JSON (aiohttp's own 404 is text)."""
    async with aiohttp.ClientSession() as session, session.post(
            webhook_url(bed.s, path), data=raw, headers={"Content-Type": "application/json", **headers}) as resp:
        status, text = resp.status, await resp.text()
    await bed.s.stack.settle()
    try:
        return status, json.loads(text)
    except ValueError:
        return status, text


def send(bed: Bed, path: str, raw: bytes, headers: dict[str, str] | None = None) -> tuple[int, Any, bool]:
    """POST `raw`; the status, the JSON answer, and whether the database changed."""
    before, mark = bed.rows(), bed.mark()
    status, answer = bed.run(post_raw(bed, path, raw, headers or {}))
    assert status < 500, (path, raw[:300], status, answer)
    bed.assert_nothing_broke(mark, (path, raw[:300]))
    return status, answer, bed.rows() != before


def refused(status: int, answer: Any, stored: bool, expected: int, what: object) -> None:
    assert status == expected, (what, status, answer)
    assert isinstance(answer, dict) and isinstance(answer.get("message"), str) and answer["message"], answer
    assert not stored, f"a refused webhook stored something: {what!r}"


def alertmanager_verdict(raw: bytes) -> bool:
    try:
        parse_alertmanager(raw)
    except PayloadError:
        return False
    return True


def check_alertmanager(bed: Bed, raw: bytes) -> None:
    status, answer, stored = send(bed, ALERTMANAGER_PATH, raw, bearer())
    if alertmanager_verdict(raw):
        assert status == 200 and answer["status"] == "success", answer
    else:
        refused(status, answer, stored, 400, raw[:300])
        assert answer["reason"] == answer["message"] and all(isinstance(e, str) for e in answer["errors"])


def test_any_body_to_alertmanager_is_accepted_or_refused_with_a_reason(bed: Bed) -> None:
    @fuzz(50)
    @given(BODIES)
    def check(raw: bytes) -> None:
        check_alertmanager(bed, raw)

    check()


def test_a_near_valid_alertmanager_payload_is_accepted_or_refused_with_a_reason(bed: Bed) -> None:
    @fuzz(50)
    @given(st.data())
    def check(data: st.DataObject) -> None:
        check_alertmanager(bed, json.dumps(near_valid(alertmanager_payload(), data)).encode())

    check()


def test_alertmanager_without_the_secret_is_401_and_stores_nothing(bed: Bed) -> None:
    headers = st.one_of(st.just({}), st.text(ANY_CHAR.filter(lambda c: c.isprintable() and c.isascii()), max_size=60)
                        .map(lambda h: {"Authorization": h}),
                        st.sampled_from([bearer(SECRET + "x"), bearer(SECRET[:-1]), {"Authorization": SECRET},
                                         {"Authorization": f"Basic {SECRET}"}, bearer(""), bearer(API_KEY)]))

    @fuzz(25)
    @given(headers, st.one_of(BODIES, st.just(json.dumps(alertmanager_payload()).encode())))
    def check(header: dict[str, str], raw: bytes) -> None:
        status, answer, stored = send(bed, ALERTMANAGER_PATH, raw, header)
        refused(status, answer, stored, 401, header)

    check()


def event_verdict(raw: bytes) -> int:
    """The status the events endpoint owes `raw`: 202, 400 (malformed) or 401 (unknown routing key)."""
    try:
        body, key = routing_key_of(raw)
    except PayloadError:
        return 400
    if key not in (API_KEY, WEB_KEY):
        return 401
    try:
        parse_event(body)
    except PayloadError:
        return 400
    return 202


def check_event(bed: Bed, path: str, raw: bytes) -> None:
    status, answer, stored = send(bed, path, raw)
    expected = event_verdict(raw)
    if expected == 202:
        assert status == 202 and answer["status"] == "success", answer
    else:
        refused(status, answer, stored, expected, raw[:300])


def with_key(value: Any, key: str) -> bytes:
    """`value` as a JSON body carrying `key` as its routing key when it is an object."""
    return json.dumps({**value, "routing_key": key} if isinstance(value, dict) else value).encode()


@pytest.mark.parametrize("path", EVENTS_PATHS)
def test_any_event_with_a_known_routing_key_is_accepted_or_refused_with_a_reason(bed: Bed, path: str) -> None:
    @fuzz(30)
    @given(st.one_of(JSON.map(lambda v: with_key(v, API_KEY)), BODIES,
                     st.dictionaries(st.sampled_from(["event_action", "dedup_key", "payload", "links", "images"]),
                                     JSON).map(lambda v: with_key(v, WEB_KEY))))
    def check(raw: bytes) -> None:
        check_event(bed, path, raw)

    check()


@pytest.mark.parametrize("path", EVENTS_PATHS)
@pytest.mark.parametrize("action", ["trigger", "acknowledge", "resolve"])
def test_a_near_valid_event_is_accepted_or_refused_with_a_reason(bed: Bed, path: str, action: str) -> None:
    @fuzz(12)
    @given(st.data(), st.booleans())
    def check(data: st.DataObject, known_key: bool) -> None:
        event = near_valid(pagerduty_event(action, routing_key=API_KEY if known_key else "R" + "0" * 32), data,
                           keep=frozenset({"routing_key"}))
        check_event(bed, path, json.dumps(event).encode())

    check()


def test_any_heartbeat_path_but_the_right_one_is_401_and_any_body_to_it_is_200(bed: Bed) -> None:
    segments = st.one_of(any_text(min_size=1, max_size=40), st.sampled_from(
        ["watchdog", BEAT_SECRET, BEAT_SECRET + "x", BEAT_SECRET[:-1], "..", "%00", API_KEY, SECRET]))

    @fuzz(40)
    @given(segments, segments, BODIES)
    def check(name: str, secret: str, raw: bytes) -> None:
        path = f"/webhooks/heartbeat/{quote(name, safe='')}/{quote(secret, safe='')}"
        status, answer, stored = send(bed, path, raw)
        if (name, secret) == ("watchdog", BEAT_SECRET):
            assert (status, answer) == (200, {"status": "success", "heartbeat": "watchdog"})
        elif status != 404:  # a quoted segment that routes nowhere (say "..") is aiohttp's 404
            refused(status, answer, stored, 401, path)
        else:
            assert not stored

    check()
    status, answer, _ = send(bed, f"/webhooks/heartbeat/watchdog/{BEAT_SECRET}", b"\xff not json")
    assert (status, answer) == (200, {"status": "success", "heartbeat": "watchdog"})


TEXT = any_text(min_size=1, max_size=60)
LABELS = st.dictionaries(any_text(max_size=20), any_text(max_size=60), max_size=5)


@st.composite
def valid_alertmanager(draw: st.DrawFn) -> dict[str, Any]:
    """A payload the parser accepts, with arbitrary text wherever Alertmanager puts text."""
    status = draw(st.sampled_from(["firing", "resolved"]))
    labels = {**draw(LABELS), **draw(st.sampled_from([{}, {"service": "api"}, {"service": "web"}]))}
    return alertmanager_payload(status=status, fingerprint=draw(any_text(min_size=1, max_size=128)),
                                labels=labels, group_key=draw(TEXT), receiver=draw(any_text(max_size=30)),
                                commonAnnotations=draw(LABELS), groupLabels=draw(LABELS))


@st.composite
def valid_event(draw: st.DrawFn) -> dict[str, Any]:
    """An event the parser accepts, with arbitrary text wherever a sender puts text."""
    action = draw(st.sampled_from(["trigger", "acknowledge", "resolve"]))
    event = pagerduty_event(action, routing_key=draw(st.sampled_from([API_KEY, WEB_KEY])),
                            dedup_key=draw(any_text(min_size=1, max_size=255)))
    if action == "trigger":
        event["payload"].update(summary=draw(any_text(min_size=1, max_size=1024)), source=draw(TEXT),
                                component=draw(st.none() | TEXT), group=draw(st.none() | TEXT),
                                custom_details=draw(JSON))
        event["links"] = draw(st.lists(st.fixed_dictionaries({"href": TEXT, "text": any_text(max_size=30)}),
                                       max_size=3))
    return event


def test_any_text_in_a_valid_alertmanager_payload_is_accepted(bed: Bed) -> None:
    @fuzz(30)
    @given(valid_alertmanager())
    def check(payload: dict[str, Any]) -> None:
        raw = json.dumps(payload).encode()
        assert alertmanager_verdict(raw) or b"\\u0000" in raw  # NUL is refused: storage cannot hold it
        check_alertmanager(bed, raw)

    check()


def test_any_text_in_a_valid_event_is_accepted(bed: Bed) -> None:
    @fuzz(30)
    @given(valid_event())
    def check(event: dict[str, Any]) -> None:
        raw = json.dumps(event).encode()
        assert event_verdict(raw) == 202 or b"\\u0000" in raw
        check_event(bed, EVENTS_PATHS[0], raw)

    check()
