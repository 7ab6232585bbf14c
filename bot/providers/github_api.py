"""What every GitHub call shares: the headers, the repository path, URL segments and the web base URL.

The API base comes from the provider's `api_url`: `https://api.github.com` for github.com, or
`https://<host>/api/v3` for GitHub Enterprise Server.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote, urlsplit

from bot.errors import ProviderError

API_VERSION = "2022-11-28"
DEFAULT_API_URL = "https://api.github.com"
_REPO = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")


def github_headers(token: str | None) -> dict[str, str]:
    """Every request's headers; without a token when a GitHub App's credentials supply Authorization."""
    headers = {
        "Accept": "application/vnd.github+json",
        "X-GitHub-Api-Version": API_VERSION,
        "User-Agent": "switchman",
    }
    return headers if token is None else {"Authorization": f"Bearer {token}", **headers}


def repo_path(repo: str | None) -> str:
    """`/repos/<owner>/<name>` for a configured `owner/name`; a ProviderError when it is missing or odd."""
    if not repo:
        raise ProviderError("this service has no repo configured; GitHub Actions needs repo: owner/name")
    if not _REPO.match(repo):
        raise ProviderError(f"repo {repo!r} is not of the form owner/name that GitHub expects")
    owner, name = repo.split("/")
    return f"/repos/{segment(owner)}/{segment(name)}"


def segment(value: str | int, *, slashes: bool = False) -> str:
    """One URL path segment; refs may keep their slashes (GitHub reads `heads/feature/x` as one ref)."""
    return quote(str(value), safe="/" if slashes else "")


def web_base(api_url: str) -> str:
    """Where people look: https://github.com for api.github.com, https://<host> for GHES' /api/v3."""
    parts = urlsplit(api_url.rstrip("/"))
    if parts.netloc == "api.github.com":
        return "https://github.com"
    path = parts.path.removesuffix("/api/v3")
    return f"{parts.scheme}://{parts.netloc}{path}"


def short(sha: str) -> str:
    return sha[:7] if re.fullmatch(r"[0-9a-f]{40}", sha) else sha


def as_dict(value: Any) -> dict[str, Any]:
    """`value` if it is a JSON object, else an empty one (GitHub nulls absent users and commits)."""
    return value if isinstance(value, dict) else {}
