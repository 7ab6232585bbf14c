"""Reading an Argo CD `v1alpha1Application`: its operation, sync and health, and what they mean for a run.

Argo CD answers every application call with the whole Application. This module turns the parts
Switchman needs into an `AppView` and maps them onto `RunState`:

- `status.operationState.phase` Running or Terminating → RUNNING; Failed or Error → FAILED
  (an operation ended by `DELETE …/operation` → CANCELLED);
- Succeeded → RUNNING until `status.sync.status` is Synced at the operation's revision and
  `status.health.status` is Healthy, then SUCCEEDED; health Degraded or Missing → FAILED.
  Argo CD compares an application with the tip of its `targetRevision`, so after a sync to an older
  commit (a rollback) it shows OutOfSync at that tip for good: then the operation's
  `syncResult.revision` says what runs, and Healthy is enough (the detail says why it is OutOfSync).

Phases and statuses are the enums of Argo CD v3.5.1 (gitops-engine `sync/common/types.go`,
`health/health.go`); the swagger leaves them as plain strings.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.providers.base import RunState

RUNNING_PHASES = frozenset({"Running", "Terminating"})
FAILED_PHASES = frozenset({"Failed", "Error"})
BAD_HEALTH = frozenset({"Degraded", "Missing"})
RELEASE_INFO = "switchman-release"  # operation info naming the release that asked for the sync
STAGE_INFO = "switchman-stage"


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def iso(instant: datetime) -> str:
    return instant.strftime("%Y-%m-%dT%H:%M:%SZ")


def short(sha: str) -> str:
    return sha[:7] if len(sha) == 40 else sha


@dataclass(frozen=True)
class Operation:
    """A sync operation: requested (`Application.operation`) or under way (`status.operationState`)."""

    revision: str | None
    info: dict[str, str]
    phase: str | None = None
    message: str = ""
    started_at: datetime | None = None
    initiated_by: str = ""
    applied: str | None = None  # syncResult.revision: the commit the operation applied

    @classmethod
    def of(cls, operation: Mapping[str, Any], state: Mapping[str, Any] | None = None) -> Operation:
        sync = as_dict(operation.get("sync"))
        info = {str(i.get("name")): str(i.get("value")) for i in operation.get("info") or [] if isinstance(i, dict)}
        initiator = as_dict(operation.get("initiatedBy"))
        who = "automated sync" if initiator.get("automated") else str(initiator.get("username") or "")
        state = state or {}
        return cls(revision=sync.get("revision") or None, info=info, phase=state.get("phase"),
                   message=str(state.get("message") or ""), started_at=parse_time(state.get("startedAt")),
                   initiated_by=who, applied=as_dict(state.get("syncResult")).get("revision") or None)

    def for_release(self, release_id: int) -> bool | None:
        """Whether Switchman started it for `release_id`; None when it carries no release marker."""
        marked = self.info.get(RELEASE_INFO)
        return None if marked is None else marked == str(release_id)

    def describe(self) -> str:
        what = f"sync to {short(self.revision)}" if self.revision else "an operation"
        return what + (f" by {self.initiated_by}" if self.initiated_by else "")


@dataclass(frozen=True)
class HistoryEntry:
    id: int
    revision: str
    deployed_at: datetime | None


@dataclass(frozen=True)
class AppView:
    name: str
    pending: Operation | None  # requested, not yet picked up by the controller (or still running)
    current: Operation | None  # status.operationState
    sync_status: str
    sync_revision: str | None
    health: str
    automated: bool
    target_revision: str
    multi_source: bool
    history: list[HistoryEntry]

    @classmethod
    def of(cls, name: str, data: Mapping[str, Any]) -> AppView:
        spec, status = as_dict(data.get("spec")), as_dict(data.get("status"))
        state = as_dict(status.get("operationState"))
        sync = as_dict(status.get("sync"))
        automated = as_dict(as_dict(spec.get("syncPolicy")).get("automated"))
        requested = as_dict(data.get("operation"))
        history = [HistoryEntry(int(h["id"]), str(h.get("revision") or ""), parse_time(h.get("deployedAt")))
                   for h in status.get("history") or [] if isinstance(h, dict) and _integer(h.get("id"))]
        return cls(
            name=name,
            pending=Operation.of(requested) if requested else None,
            current=Operation.of(as_dict(state.get("operation")), state) if state else None,
            sync_status=str(sync.get("status") or "Unknown"),
            sync_revision=sync.get("revision") or None,
            health=str(as_dict(status.get("health")).get("status") or "Unknown"),
            # Argo CD treats `automated: {}` as on; `enabled: false` switches it off explicitly.
            automated="automated" in as_dict(spec.get("syncPolicy")) and automated.get("enabled") is not False,
            target_revision=str(as_dict(spec.get("source")).get("targetRevision") or "HEAD"),
            multi_source=not spec.get("source") and bool(spec.get("sources")),
            history=history,
        )

    @property
    def busy(self) -> bool:
        return self.pending is not None or (self.current is not None and self.current.phase in RUNNING_PHASES)

    def summary(self) -> str:
        return f"sync {self.sync_status}, health {self.health}"

    def run_state(self, sha: str) -> tuple[RunState, str]:
        """The state of the current operation, assumed to be the one Switchman is following."""
        op = self.current
        assert op is not None
        message = f": {op.message}" if op.message else ""
        if op.phase in RUNNING_PHASES:
            return RunState.RUNNING, f"Argo CD sync {op.phase} ({self.summary()}){message}"
        if op.phase in FAILED_PHASES:
            state = RunState.CANCELLED if "terminated" in op.message.lower() else RunState.FAILED
            return state, f"Argo CD sync {op.phase} ({self.summary()}){message}"
        if op.phase != "Succeeded":
            return RunState.QUEUED, f"Argo CD operation phase {op.phase or 'unknown'} ({self.summary()})"
        if self.health in BAD_HEALTH:
            return RunState.FAILED, f"Argo CD synced {short(sha)} but the application is {self.health}" \
                                    f" ({self.summary()}){message}"
        if self.sync_revision and self.sync_revision != sha:
            # Argo CD compares the application with its targetRevision's tip, not with what a sync to an
            # explicit commit applied: after a rollback it shows OutOfSync for good. What ran is syncResult.
            if (op.applied or op.revision) == sha and self.health == "Healthy":
                return RunState.SUCCEEDED, (
                    f"Argo CD synced {short(sha)}; health Healthy (Argo CD compares {self.name} with "
                    f"{self.target_revision} at {short(self.sync_revision)}, so it shows {self.sync_status})")
            return RunState.RUNNING, f"Argo CD sync Succeeded, waiting for health ({self.summary()})"
        synced = self.sync_status == "Synced"
        if synced and self.health == "Healthy":
            return RunState.SUCCEEDED, f"Argo CD synced {short(sha)}; {self.summary()}"
        waiting = "health" if synced else f"sync at {short(sha)}"
        return RunState.RUNNING, f"Argo CD sync Succeeded, waiting for {waiting} ({self.summary()})"


def _integer(value: Any) -> bool:
    """History ids are int64: JSON numbers, or strings of digits from gRPC-gateway's encoding."""
    return (isinstance(value, int) and not isinstance(value, bool)) or (isinstance(value, str) and value.isdigit())
