"""The one interface every CI/CD provider implements, and the values it speaks in (§7).

Switchman asks a provider five things: which commit a ref names, whether CI passed for it,
what changed between two commits, to start the deploy pipeline for one stage, and how that
pipeline run is doing. Implementations take an injected `httpx.AsyncClient`, so tests hand them
a local server; every call has a timeout, retries 5xx and 429 with backoff (honouring
Retry-After) and raises `ProviderError` with a message fit for the release thread.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Protocol, runtime_checkable


class RunState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in (RunState.SUCCEEDED, RunState.FAILED, RunState.CANCELLED)


class CiVerdict(StrEnum):
    PASS = "pass"  # every check for the commit concluded successfully
    FAIL = "fail"  # at least one check failed
    PENDING = "pending"  # checks exist and some have not finished
    NONE = "none"  # no checks at all for the commit


def instant(value: object) -> datetime | None:
    """An ISO 8601 time from a provider's JSON (`2026-03-01T10:00:00Z`, `…+01:00`) in UTC; None if absent or bad."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


@dataclass(frozen=True)
class Commit:
    sha: str
    title: str  # first line of the message
    author: str
    url: str | None = None
    # When the commit was made (the committer's date, else the author's), when the provider says;
    # the earliest of a change's commits starts its lead time (docs/metrics.md).
    committed_at: datetime | None = None
    # The git author's email, where the provider's compare gives it (GitHub `commit.author.email`,
    # GitLab `author_email`): how the author is found in Slack to be told where the change runs.
    author_email: str | None = None


@dataclass(frozen=True)
class ChangePreview:
    base_sha: str | None
    head_sha: str
    commits: list[Commit]
    total_commits: int
    files: list[str] = field(default_factory=list)
    url: str | None = None
    # Commits head has that base lacks, when the provider says (GitHub's `ahead_by`): 0 means head is
    # base or one of its ancestors. None when the provider cannot tell.
    ahead_by: int | None = None


@dataclass(frozen=True)
class CiStatus:
    verdict: CiVerdict
    summary: str  # e.g. "12 checks passed" or "lint failed, test failed"
    url: str | None = None
    failing: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class DeployTarget:
    """Where and what to deploy: one stage of one release."""

    repo: str | None
    workflow: str | None
    service: str
    environment: str
    ref: str
    sha: str
    strategy: str
    stage: int  # percent of traffic for this stage, 100 for a one-stage rollout
    release_id: int
    rollback: bool = False
    # The branch or tag the pipeline runs from. workflow_dispatch and pipeline triggers take a branch
    # or tag, not a commit; when a commit was asked for, this is the environment's branch and the
    # pipeline receives the exact commit as its `sha` input.
    dispatch_ref: str | None = None
    job: str | None = None  # Jenkins: the job's folder path (team/deploy-api)
    application: str | None = None  # Argo CD: the application that is this environment

    @property
    def run_from(self) -> str:
        return self.dispatch_ref or self.ref


@dataclass(frozen=True)
class PipelineRun:
    id: str
    state: RunState
    url: str | None = None
    detail: str = ""  # what the provider says about the run, for the thread


class Provider(Protocol):
    kind: str

    async def resolve_ref(self, repo: str | None, ref: str) -> str:
        """The full commit SHA `ref` names; raises ProviderError when it names nothing."""
        ...

    async def ci_status(self, repo: str | None, sha: str) -> CiStatus: ...

    async def compare(self, repo: str | None, base: str | None, head: str) -> ChangePreview: ...

    async def dispatch(self, target: DeployTarget) -> PipelineRun:
        """Start the pipeline for one stage and return the run it started (found, not guessed)."""
        ...

    async def find_run(self, target: DeployTarget, *, since: datetime) -> PipelineRun | None:
        """The run a dispatch of `target` started at or after `since`, if the provider can tell (by its
        run name); asked after a restart that interrupted a dispatch, so the stage is not started twice."""
        ...

    async def poll(self, target: DeployTarget, run: PipelineRun) -> PipelineRun: ...

    async def cancel(self, target: DeployTarget, run: PipelineRun) -> None: ...

    async def report(self, target: DeployTarget, run: PipelineRun | None, state: str, description: str) -> None:
        """Mirror the release's state into the provider's own deployment history, where it has one."""
        ...


@runtime_checkable
class ReportsHealth(Protocol):
    """A provider that knows how a deployed stage is doing (the sandbox simulates it): verification asks it
    after each bake, besides the configured checks. None means it has nothing to report."""

    async def health(self, target: DeployTarget) -> str | None:
        """What is wrong with the stage `target` deployed (a breach, for verification to fail on), or None."""
        ...
