"""The sandbox provider: an in-process pipeline simulator for the local console and demos (§7).

It never touches a network, starts no background task and never sleeps: a run's state is worked
out from the injected clock each time it is polled. Configure it in switchman.yml::

    providers:
      sandbox: {kind: sandbox, run_duration: 30s, outcome: success}

How a run goes: queued for the first 10% of `run_duration`, running until `run_duration` has
passed, then `outcome` (success or failure). Cancelling a run that has not finished makes it
cancelled.

Words in the ref you deploy choose the path, so every one can be shown:

* ``missing`` — resolving the ref fails: "ref … not found".
* ``fail`` — CI fails for it (the ci_green gate blocks): "unit-tests failed".
* ``pending`` — CI is still running for it; ``no-ci`` — it has no checks at all.
* ``broken`` — CI passes but the deploy pipeline fails ("job deploy failed").
* ``slow`` — the pipeline takes ten times `run_duration`.
* ``migration`` — the change preview lists ``migrations/0042_add_index.sql``.
* ``breach`` — the pipeline succeeds but the deployed stage breaches verification: after each bake the
  sandbox reports its error ratio above the limit, so verification fails and, with `auto_rollback`,
  Switchman rolls back on its own (no Prometheus needed to see it).

Any other ref resolves to a deterministic 40-hex commit (the sha1 of the ref; a 40-hex ref is its
own commit) and passes CI. The change preview between two commits lists one to five fake commits,
the same ones every time ("Change 3 of 5 for main"); a first deploy (no base) has none. Reports
(the deployment-history mirror) are kept in `reports` for demos and tests to inspect.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.clock import Clock
from bot.config.models import Provider as ProviderConfig
from bot.errors import ProviderError, RefNotFound
from bot.providers.base import ChangePreview, CiStatus, CiVerdict, Commit, DeployTarget, PipelineRun, RunState

QUEUED_SHARE = 0.1
SLOW_FACTOR = 10
BREACH_ERROR_RATIO, BREACH_LIMIT = 0.073, 0.01  # what a breaching stage reports: 7.3% errors, over 1%
AUTHORS = ("ada", "grace", "linus", "margaret", "ken")
AUTHOR_DOMAIN = "example.com"  # the sandbox's commit authors are ada@example.com, ...
MIGRATION_FILE = "migrations/0042_add_index.sql"
_SHA = re.compile(r"^[0-9a-fA-F]{40}$")


@dataclass(frozen=True)
class SandboxReport:
    release_id: int
    stage: int
    state: str
    description: str
    run_id: str | None


def _sha1(text: str) -> str:
    return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()


class SandboxProvider:
    """`Provider` that simulates a CI system and a deploy pipeline from the clock."""

    kind = "sandbox"

    def __init__(self, config: ProviderConfig, *, clock: Clock) -> None:
        self.run_duration = config.run_duration
        self.outcome = config.outcome
        self._clock = clock
        self._refs: dict[str, str] = {}  # sha → the ref it was resolved from
        self._cancelled: dict[str, datetime] = {}  # run id → when it was cancelled
        self._next_run = 1
        self.reports: list[SandboxReport] = []

    def _ref_of(self, ref_or_sha: str) -> str:
        return self._refs.get(ref_or_sha.lower(), ref_or_sha)

    async def resolve_ref(self, repo: str | None, ref: str) -> str:
        if "missing" in ref:
            raise RefNotFound(f"ref {ref} not found in {repo or 'the sandbox'}")
        sha = ref.lower() if _SHA.match(ref) else _sha1(ref)
        self._refs[sha] = ref
        return sha

    async def ci_status(self, repo: str | None, sha: str) -> CiStatus:
        ref = self._ref_of(sha)
        if "fail" in ref:
            return CiStatus(CiVerdict.FAIL, "unit-tests failed", failing=["unit-tests"])
        if "pending" in ref:
            return CiStatus(CiVerdict.PENDING, "1 of 3 checks still running: integration-tests")
        if "no-ci" in ref:
            return CiStatus(CiVerdict.NONE, "no checks or statuses reported for this commit")
        return CiStatus(CiVerdict.PASS, "3 checks passed")

    async def compare(self, repo: str | None, base: str | None, head: str) -> ChangePreview:
        if base is None:
            return ChangePreview(base_sha=None, head_sha=head, commits=[], total_commits=0)
        if base == head:  # as a code host answers for identical commits: nothing between them
            return ChangePreview(base_sha=base, head_sha=head, commits=[], total_commits=0)
        ref = self._ref_of(head)
        count = 1 + int(_sha1(f"{base}...{head}"), 16) % 5
        now = self._clock.now()
        # Commit i of n was made n - i + 1 hours before the compare: the oldest first, the newest an hour ago.
        commits = [
            Commit(sha=head if i == count else _sha1(f"{head}:{i}"), title=f"Change {i} of {count} for {ref}",
                   author=AUTHORS[(i + count) % len(AUTHORS)], committed_at=now - timedelta(hours=count - i + 1),
                   author_email=f"{AUTHORS[(i + count) % len(AUTHORS)]}@{AUTHOR_DOMAIN}")
            for i in range(1, count + 1)
        ]
        files = ["src/app/handlers.py", "tests/test_handlers.py"]
        if "migration" in ref:
            files.append(MIGRATION_FILE)
        return ChangePreview(base_sha=base, head_sha=head, commits=commits, total_commits=count, files=files)

    async def dispatch(self, target: DeployTarget) -> PipelineRun:
        # The start instant is part of the id, so a run can still be followed after a restart.
        started_ms = int(self._clock.now().timestamp() * 1000)
        run_id = f"sandbox-{target.release_id}-{target.stage}-{self._next_run}-{started_ms}"
        self._next_run += 1
        return PipelineRun(run_id, RunState.QUEUED, detail="queued (sandbox)")

    async def find_run(self, target: DeployTarget, *, since: datetime) -> PipelineRun | None:
        return None  # an in-process simulator: a run it started before a restart is gone with the process

    def _duration(self, target: DeployTarget) -> timedelta:
        return self.run_duration * (SLOW_FACTOR if "slow" in target.ref else 1)

    @staticmethod
    def _started(run: PipelineRun) -> datetime:
        match = re.fullmatch(r"sandbox-\d+-\d+-\d+-(\d+)", run.id)
        if match is None:
            raise ProviderError(f"the sandbox did not start a run {run.id!r}")
        return datetime.fromtimestamp(int(match.group(1)) / 1000, UTC)

    async def poll(self, target: DeployTarget, run: PipelineRun) -> PipelineRun:
        started = self._started(run)
        duration = self._duration(target)
        now = self._clock.now()
        cancelled = self._cancelled.get(run.id)
        if cancelled is not None and cancelled < started + duration:
            return PipelineRun(run.id, RunState.CANCELLED, run.url, "cancelled")
        elapsed = now - started
        if elapsed < duration * QUEUED_SHARE:
            return PipelineRun(run.id, RunState.QUEUED, run.url, "queued (sandbox)")
        if elapsed < duration:
            percent = int(100 * elapsed / duration) if duration else 100
            return PipelineRun(run.id, RunState.RUNNING, run.url, f"deploying, {percent}% done")
        if "broken" in target.ref:
            return PipelineRun(run.id, RunState.FAILED, run.url, f"job deploy failed ({target.ref} is broken)")
        if self.outcome == "failure":
            return PipelineRun(run.id, RunState.FAILED, run.url, "job deploy failed (sandbox outcome: failure)")
        return PipelineRun(run.id, RunState.SUCCEEDED, run.url,
                           f"deployed {target.service} to {target.environment} at {target.stage}%")

    async def health(self, target: DeployTarget) -> str | None:
        if "breach" not in target.ref:
            return None  # nothing wrong as far as the sandbox knows: the configured checks decide
        return (f"error ratio {BREACH_ERROR_RATIO:.1%} at {target.stage}% of traffic, over the {BREACH_LIMIT:.0%} "
                f"limit (sandbox: `{target.ref}` breaches verification)")

    async def cancel(self, target: DeployTarget, run: PipelineRun) -> None:
        self._started(run)  # refuses ids the sandbox did not make
        self._cancelled.setdefault(run.id, self._clock.now())

    async def report(self, target: DeployTarget, run: PipelineRun | None, state: str, description: str) -> None:
        self.reports.append(SandboxReport(target.release_id, target.stage, state, description,
                                          run.id if run else None))
