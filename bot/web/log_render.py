"""Rendering for the web release log: the Jinja2 environment, its filters, and the headers every page gets.

Templates live in `bot/web/templates/` and are autoescaped. Every page is scrubbed of registered secrets
and token-shaped strings before it leaves (a last line of defence: nothing secret is rendered on purpose),
is private and never cached, may not be framed, and sends no Referer (a link's token must not travel).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from aiohttp import web
from jinja2 import Environment, FileSystemLoader, select_autoescape

from bot.structured_log import scrubber

TEMPLATES = Path(__file__).parent / "templates"
SECURITY_HEADERS = {
    "Cache-Control": "private, no-store",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; "
                               "frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def instant(value: datetime | None) -> str:
    if value is None:
        return "—"
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def web_link(value: Any) -> str | None:
    """`value` if it is an http(s) URL a page may link to; None otherwise (no javascript: or data: links)."""
    if not isinstance(value, str) or len(value) > 2000:
        return None
    parts = urlsplit(value)
    return value if parts.scheme in ("http", "https") and parts.netloc else None


def shown(value: Any) -> str:
    """An evidence value as text: strings as they are, the rest as compact JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def query(params: dict[str, Any], **changes: Any) -> str:
    merged = {k: v for k, v in {**params, **changes}.items() if v not in (None, "")}
    return "?" + urlencode(merged) if merged else ""


def environment() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(default=True),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters.update(instant=instant, web_link=web_link, shown=shown)
    env.globals.update(query=query)
    return env


def page(env: Environment, template: str, *, status: int = 200, **values: Any) -> web.Response:
    html = scrubber.scrub(env.get_template(template).render(**values), prose=True)
    return web.Response(text=html, status=status, content_type="text/html", charset="utf-8",
                        headers=SECURITY_HEADERS)
