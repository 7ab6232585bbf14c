"""What every GitLab call shares: the API base, the PRIVATE-TOKEN header, the project path and 404 wording.

The provider's `api_url` is the GitLab instance (https://gitlab.com or a self-hosted
https://gitlab.example.com); the REST API lives under `/api/v4` there. A service's `repo:` is the
project's full path (`group/subgroup/name`), sent URL-encoded as the `{id}` path segment.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

import httpx

from bot.errors import ProviderError, RefNotFound
from bot.structured_log import scrubber

API_PREFIX = "/api/v4"
_PROJECT = re.compile(r"^[\w.-]+(/[\w.-]+)+$")
# GitLab's 404 answers name what was missing ("404 Project Not Found", "404 Commit Not Found").
_PROJECT_MISSING = re.compile(r"project", re.IGNORECASE)


def instance_url(api_url: str) -> str:
    """The instance's web address; an `api_url` given with its `/api/v4` suffix is accepted too."""
    return api_url.rstrip("/").removesuffix(API_PREFIX)


def gitlab_headers(token: str) -> dict[str, str]:
    return {"PRIVATE-TOKEN": token, "Accept": "application/json", "User-Agent": "switchman"}


def project_path(repo: str | None) -> str:
    """`/projects/<url-encoded group/name>`; a ProviderError when the service names no usable project."""
    if not repo:
        raise ProviderError("this service has no repo configured; GitLab needs repo: group/name (the project path)")
    if not _PROJECT.match(repo):
        raise ProviderError(f"repo {repo!r} is not a GitLab project path of the form group/name")
    return f"/projects/{segment(repo)}"


def segment(value: str | int) -> str:
    """One URL path segment: GitLab wants `/` inside a project path, branch or tag encoded as %2F."""
    return quote(str(value), safe="")


def short(sha: str) -> str:
    return sha[:8] if re.fullmatch(r"[0-9a-f]{40}", sha) else sha


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def server_message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    return str(body.get("message") or body.get("error") or "") if isinstance(body, dict) else ""


def project_missing(response: httpx.Response) -> bool:
    """Whether a 404 says the project (rather than a commit, ref or pipeline in it) was not found."""
    return bool(_PROJECT_MISSING.search(server_message(response)))


def not_found(repo: str | None, what: str, response: httpx.Response) -> ProviderError:
    """A 404 in words: GitLab says 404, not 403, for a project the token may not see."""
    if project_missing(response):
        return ProviderError(f"GitLab project {repo} not found (or the GitLab token cannot read it)")
    return RefNotFound(f"{what} not found in GitLab project {repo}")


def validation_message(response: httpx.Response) -> str:
    """GitLab's 400 explanation in words: its `message` is a string or {field: [problems]}.

    Scrubbed before it is cut short, so a token GitLab echoed is not cut into an unrecognisable piece.
    """
    try:
        body = response.json()
    except ValueError:
        return "400 Bad Request"
    message = body.get("message") or body.get("error") if isinstance(body, dict) else None
    if isinstance(message, dict):
        problems = [str(p) for value in message.values() for p in (value if isinstance(value, list) else [value])]
        return scrubber.scrub("; ".join(problems))[:300] or "400 Bad Request"
    return scrubber.scrub(str(message))[:300] if message else "400 Bad Request"
