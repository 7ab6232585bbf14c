"""Structured logging: one JSON line per event, with every known secret scrubbed.

Secrets are scrubbed twice over: the exact values Switchman was given (tokens, signing
secret, webhook secret, provider tokens) are replaced wherever they appear, and anything
shaped like a Slack, GitHub or GitLab token or an Authorization header is masked too, so a
secret that reaches a message by an unexpected path still does not reach the log.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, TextIO

REDACTED = "[redacted]"

# Token shapes of the systems Switchman talks to, and URL passwords: never ordinary prose.
_PREFIXED_TOKENS = [
    re.compile(r"xox[abposer]-[A-Za-z0-9-]{6,}"),
    re.compile(r"xapp-[A-Za-z0-9-]{6,}"),
    re.compile(r"gh[pousr]_[A-Za-z0-9]{16,}"),
    re.compile(r"github_pat_[A-Za-z0-9_]{20,}"),
    re.compile(r"glpat-[A-Za-z0-9_-]{16,}"),
    re.compile(r"(://[^/\s:@]+:)[^@\s/]+(@)"),
]
# Bearer/Basic values cover provider tokens whose shape we cannot know; in prose they would also
# mask words ("basic validation"), so messages meant for people are scrubbed without them.
_TOKEN_PATTERNS = [
    *_PREFIXED_TOKENS,
    re.compile(r"(?i)(authorization[\"']?\s*[:=]\s*[\"']?(?:bearer|basic|token)\s+)[^\s\"',}]+"),
    re.compile(r"(?i)((?:bearer|basic)\s+)[A-Za-z0-9._~+/=-]{8,}"),
    # The web release log's personal links and session cookie (Bolt logs an ack's body at DEBUG).
    re.compile(r"(/log/enter\?t=)[A-Za-z0-9._-]+"),
    re.compile(r"(switchman_log=)[A-Za-z0-9._-]+"),
]

_STANDARD_ATTRS = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class SecretScrubber:
    """Replaces registered secret values and token-shaped strings in text."""

    def __init__(self) -> None:
        self._values: set[str] = set()
        self._lock = threading.Lock()

    def register(self, values: Iterable[str | None]) -> None:
        with self._lock:
            # Very short values would mask ordinary words; they are not credible secrets.
            self._values |= {v for v in values if v and len(v) >= 6}

    def scrub(self, text: str, *, prose: bool = False) -> str:
        """`text` with every registered secret and token-shaped string replaced; `prose` (a message for
        people) leaves out the Bearer/Basic patterns, which would also catch ordinary words."""
        for value in sorted(self._values, key=len, reverse=True):
            if value in text:
                text = text.replace(value, REDACTED)
        for pattern in _PREFIXED_TOKENS if prose else _TOKEN_PATTERNS:
            text = pattern.sub(_mask, text)
        return text

    def scrub_message(self, value: Any) -> Any:
        """Every string in a message's text or Block Kit (nested lists and dicts), scrubbed as prose."""
        if isinstance(value, str):
            return self.scrub(value, prose=True)
        if isinstance(value, list):
            return [self.scrub_message(v) for v in value]
        if isinstance(value, dict):
            return {k: self.scrub_message(v) for k, v in value.items()}
        return value


def _mask(match: re.Match[str]) -> str:
    groups = [g for g in match.groups() if g is not None]
    if len(groups) == 2:
        return f"{groups[0]}{REDACTED}{groups[1]}"
    if groups:
        return f"{groups[0]}{REDACTED}"
    return REDACTED


scrubber = SecretScrubber()


class JsonLineFormatter(logging.Formatter):
    """Formats a record as one JSON object: time, level, logger, event, extra fields, traceback."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["traceback"] = self.formatException(record.exc_info)
        return scrubber.scrub(json.dumps(entry, default=str, ensure_ascii=False))


# Libraries whose DEBUG lines carry what a log must not: the Slack SDK logs request bodies, httpcore the
# headers of every response (Jenkins' session cookie, which its CSRF crumb is bound to, among them).
LOUD_AT_DEBUG = ("slack_sdk", "httpcore")


def configure_logging(level: str = "INFO", stream: TextIO | None = None) -> None:
    """Route every logger (ours, Bolt's, the Slack SDK's, aiohttp's) through one JSON handler."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonLineFormatter())
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level.upper())
    quiet_loud_libraries(root.level)


def quiet_loud_libraries(level: int) -> None:
    """Keep the `LOUD_AT_DEBUG` libraries at INFO even when Switchman logs at DEBUG."""
    for name in LOUD_AT_DEBUG:
        logging.getLogger(name).setLevel(max(logging.INFO, level))
