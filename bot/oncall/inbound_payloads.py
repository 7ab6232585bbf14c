"""The shapes of inbound pages and their parsers: Alertmanager's webhook (v4) and PagerDuty's Events API v2.

Parsing turns raw request bytes into a typed payload or raises `PayloadError` with a reason
and one line per problem — never anything else, whatever the bytes (a property test holds us
to that). Problems name the field, never the value, so a routing key sent in the wrong place
does not end up in a response or a log line.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

MAX_ERRORS = 20


class PayloadError(ValueError):
    """A request body that is not what the endpoint accepts; answered 400 with `reason` and `errors`."""

    def __init__(self, reason: str, errors: list[str] | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.errors = errors or []


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


Instant = Annotated[datetime, AfterValidator(_utc)]
Labels = dict[str, str]


class _Lenient(BaseModel):
    # Senders add fields over time (Alertmanager's truncatedAlerts, PagerDuty's newer keys); ignore them.
    model_config = ConfigDict(extra="ignore", frozen=True)


class AlertmanagerAlert(_Lenient):
    status: Literal["firing", "resolved"]
    labels: Labels
    annotations: Labels = Field(default_factory=dict)
    starts_at: Instant = Field(alias="startsAt")
    ends_at: Instant | None = Field(default=None, alias="endsAt")
    generator_url: str = Field(default="", alias="generatorURL")
    fingerprint: str = Field(min_length=1, max_length=128)

    @property
    def ended_at(self) -> datetime | None:
        """The end Alertmanager reported, or None for Go's zero time (no end known)."""
        return self.ends_at if self.ends_at is not None and self.ends_at.year > 1 else None


class AlertmanagerPayload(_Lenient):
    version: Literal["4"]
    group_key: str = Field(alias="groupKey", min_length=1)
    status: Literal["firing", "resolved"]
    receiver: str = ""
    group_labels: Labels = Field(default_factory=dict, alias="groupLabels")
    common_labels: Labels = Field(default_factory=dict, alias="commonLabels")
    common_annotations: Labels = Field(default_factory=dict, alias="commonAnnotations")
    external_url: str = Field(default="", alias="externalURL")
    alerts: list[AlertmanagerAlert]


class Link(_Lenient):
    href: str
    text: str = ""


class Image(_Lenient):
    src: str
    href: str = ""
    alt: str = ""


class EventPayload(_Lenient):
    summary: str = Field(min_length=1, max_length=1024)
    source: str = Field(min_length=1, max_length=255)
    severity: Literal["critical", "error", "warning", "info"]
    timestamp: Instant | None = None
    component: str | None = None
    group: str | None = None
    class_: str | None = Field(default=None, alias="class")
    custom_details: Any = None


class PagerDutyEvent(_Lenient):
    routing_key: str = Field(min_length=1)
    event_action: Literal["trigger", "acknowledge", "resolve"]
    dedup_key: str | None = Field(default=None, min_length=1, max_length=255)
    payload: EventPayload | None = None
    links: list[Link] = Field(default_factory=list)
    images: list[Image] = Field(default_factory=list)
    client: str | None = None
    client_url: str | None = None


def _json_object(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise PayloadError("the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise PayloadError("the body must be a JSON object")
    if _holds_nul(body):
        raise PayloadError("the body holds a NUL character (\\u0000), which Switchman cannot store",
                           ["body: a key or a string holds \\u0000"])
    return body


def _holds_nul(value: Any) -> bool:
    """Whether a NUL is in any key or string of a parsed JSON value (PostgreSQL's text refuses it)."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            pending.extend(item)
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


def _problems(exc: ValidationError) -> list[str]:
    out = []
    for error in exc.errors(include_url=False, include_input=False)[:MAX_ERRORS]:
        where = ".".join(str(part) for part in error["loc"]) or "body"
        out.append(f"{where}: {error['msg']}")
    return out


def parse_alertmanager(raw: bytes) -> AlertmanagerPayload:
    body = _json_object(raw)
    try:
        return AlertmanagerPayload.model_validate(body)
    except ValidationError as exc:
        raise PayloadError("not an Alertmanager webhook (version 4) payload", _problems(exc)) from None


def routing_key_of(raw: bytes) -> tuple[dict[str, Any], str]:
    """The body and its routing key, read before anything else so authentication comes first."""
    body = _json_object(raw)
    key = body.get("routing_key")
    if not isinstance(key, str) or not key:
        raise PayloadError("routing_key is required", ["routing_key: Field required"])
    return body, key


def parse_event(body: dict[str, Any]) -> PagerDutyEvent:
    try:
        event = PagerDutyEvent.model_validate(body)
    except ValidationError as exc:
        raise PayloadError("Event object is invalid", _problems(exc)) from None
    if event.event_action == "trigger" and event.payload is None:
        raise PayloadError("Event object is invalid", ["payload: a trigger event needs a payload"])
    if event.event_action != "trigger" and event.dedup_key is None:
        raise PayloadError("Event object is invalid",
                           [f"dedup_key: {event.event_action} events need the dedup_key of their trigger"])
    return event
