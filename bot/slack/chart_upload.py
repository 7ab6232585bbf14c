"""Putting a chart PNG into Slack with the files v2 upload, and not doing it again too soon.

The three steps (../shared/contracts/slack, addendum; `files.upload` is retired):
`files.getUploadURLExternal` (name, byte length, alt text) gives a file id and a one-off URL; the
bytes are POSTed there, with no Slack token; `files.completeUploadExternal` finishes the file
without sharing it in any channel. The bot then shows it in an image block as `slack_file: {id}`,
which Slack allows for files the posting app can read.

`ChartUploads` keeps, per key (a viewer, a metrics scope), the file id of the last upload for
`fresh_for`, so opening the Home tab again re-uses it instead of drawing and uploading again; two
requests for one key at once share one upload. Any failure (a refusal, 429, 5xx, a timeout, the
upload URL answering other than 200) is a `ChartUnavailable` carrying a short reason fit to show;
after a 429 the key is not tried again before `Retry-After`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from bot.clock import Clock

log = logging.getLogger(__name__)
FRESH_FOR = timedelta(minutes=15)
UPLOAD_TIMEOUT_SECONDS = 15.0
ALT_TEXT_MAX = 1000  # files.getUploadURLExternal's alt_txt


class ChartUnavailable(Exception):
    def __init__(self, reason: str, *, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


@dataclass(frozen=True)
class Chart:
    file_id: str
    title: str
    alt_text: str


Render = Callable[[], Awaitable[tuple[bytes, str]]]  # the PNG and its alt text (which may tell its figures)


async def upload_png(client: AsyncWebClient, http: httpx.AsyncClient, png: bytes, *, filename: str, title: str,
                     alt_text: str) -> str:
    """Upload `png` as a private file of the app; its file id."""
    alt = alt_text[:ALT_TEXT_MAX]
    try:
        reserved = await client.files_getUploadURLExternal(filename=filename, length=len(png), alt_txt=alt)
        upload_url, file_id = str(reserved["upload_url"]), str(reserved["file_id"])
        try:
            answer = await http.post(upload_url, content=png, headers={"Content-Type": "image/png"},
                                     timeout=UPLOAD_TIMEOUT_SECONDS)
        except httpx.HTTPError as exc:
            raise ChartUnavailable(f"the upload did not go through ({type(exc).__name__})") from None
        if answer.status_code != 200:
            raise ChartUnavailable(f"Slack's upload answered HTTP {answer.status_code}")
        await client.files_completeUploadExternal(files=[{"id": file_id, "title": title}])
    except SlackApiError as exc:
        status = exc.response.status_code
        if status == 429:
            retry = float(exc.response.headers.get("Retry-After", "60") or 60)
            raise ChartUnavailable("Slack is rate-limiting uploads", retry_after=retry) from None
        if status >= 500:
            raise ChartUnavailable(f"Slack is unavailable (HTTP {status})") from None
        raise ChartUnavailable(f"Slack refused the upload ({exc.response.get('error') or status})") from None
    except (SlackClientError, TimeoutError, OSError) as exc:
        raise ChartUnavailable(f"Slack could not be reached ({type(exc).__name__})") from None
    return file_id


@dataclass
class ChartUploads:
    client: AsyncWebClient
    http: httpx.AsyncClient | None
    clock: Clock
    fresh_for: timedelta = FRESH_FOR
    _charts: dict[str, tuple[datetime, Chart]] = field(default_factory=dict)
    _held: dict[str, datetime] = field(default_factory=dict)  # key → not before (after a 429)
    _locks: dict[str, asyncio.Lock] = field(default_factory=dict)
    uploads: int = 0  # completed uploads, for tests and logs

    async def chart(self, key: str, render: Render, *, filename: str, title: str) -> Chart:
        """The chart for `key`: the one uploaded less than `fresh_for` ago, else drawn and uploaded now."""
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            now = self.clock.now()
            cached = self._charts.get(key)
            if cached is not None and now - cached[0] < self.fresh_for:
                return cached[1]
            held = self._held.get(key)
            if held is not None and now < held:
                raise ChartUnavailable("Slack is rate-limiting uploads")
            if self.http is None:
                raise ChartUnavailable("this process has no HTTP client for uploads")
            png, alt_text = await render()
            try:
                file_id = await upload_png(self.client, self.http, png, filename=filename, title=title,
                                           alt_text=alt_text)
            except ChartUnavailable as exc:
                log.warning("chart upload failed", extra={"chart": key, "reason": exc.reason})
                if exc.retry_after is not None:
                    self._held[key] = now + timedelta(seconds=exc.retry_after)
                raise
            chart = Chart(file_id, title, alt_text)
            self._charts[key] = (now, chart)
            self.uploads += 1
            return chart
