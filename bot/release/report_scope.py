"""What a release changes, as stored on the release when its change preview is taken (§3, §8).

`change_record` turns the provider's compare (`ChangePreview`) into the `releases.detail["change"]`
record the post-release report and the lead-time metric read later: how many commits, which files,
which of them look like database migrations, and when the earliest commit was made. The preview
itself is rendered into the thread; this is what is kept.

The migration rule: a file is flagged when a directory of its path is `migrations`, `migrate` or
`alembic`, or its name ends in `.sql`.

Commit times come from the provider's compare. GitHub lists a compare's commits oldest first, one
page of `per_page` (Switchman asks for 100; GitHub never lists more than 250 without paging):
beyond that, the earliest *listed* commit is used and `complete` is false. Being oldest first, the
first page holds the change's oldest commits, so the time is off only when committer dates run
against the history (rebased or cherry-picked commits).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.providers.base import ChangePreview

MIGRATION_DIRS = frozenset({"migrations", "migrate", "alembic"})
MAX_FILES_KEPT = 100  # the release row keeps this many file names; the count is always whole


def is_migration(path: str) -> bool:
    parts = path.lower().strip("/").split("/")
    return parts[-1].endswith(".sql") or any(part in MIGRATION_DIRS for part in parts[:-1])


def change_record(preview: ChangePreview) -> dict[str, Any]:
    """The JSON kept on the release: counts, files, flagged migrations, earliest commit time.

    With nothing to compare with (the environment's first release through Switchman) the counts
    are unknown (None), not zero.
    """
    known = preview.base_sha is not None
    times = [c.committed_at for c in preview.commits if c.committed_at is not None]
    first = min(times) if times else None
    return {
        "base_sha": preview.base_sha,
        "head_sha": preview.head_sha,
        "commits": preview.total_commits if known else None,
        "commits_listed": len(preview.commits),
        "files_total": len(preview.files) if known else None,
        "files": preview.files[:MAX_FILES_KEPT],
        "migrations": [f for f in preview.files if is_migration(f)],
        "first_commit_at": first.isoformat() if first else None,
        "complete": len(preview.commits) >= preview.total_commits,
    }


def first_commit_at(detail: dict[str, Any] | None) -> datetime | None:
    """The earliest commit time stored on a release, when its preview had one."""
    value = ((detail or {}).get("change") or {}).get("first_commit_at")
    return datetime.fromisoformat(value) if isinstance(value, str) else None
