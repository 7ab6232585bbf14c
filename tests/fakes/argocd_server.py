"""A fake Argo CD API on 127.0.0.1 (port 0) that keeps applications, runs their syncs and checks every call.

Every request is judged by `ArgoCDContract` (method, path, query, body, bearer token) before it is
answered, and every response body before it is sent; problems land in `violations` (fixtures fail
the test on any). A request the contract rejects is answered 400, as Argo CD's gateway would.

Applications are `v1alpha1Application` bodies with spec.source/syncPolicy and status.sync, health,
operationState and history. A sync or rollback starts an operation (`Running`); each read of the
application then plays the application's `Script`: Running for `running_polls` reads, then the
outcome — Succeeded with health Progressing for `progressing_polls` reads and then Healthy or
Degraded, or Failed/Error with a message. `script.manual = True` leaves the operation alone until
the test calls `advance`. Argo CD's refusals are modelled: syncing an auto-synced application to
another revision, rollback under auto-sync, a second operation while one runs, unknown apps (404
with a project, 403 without), RBAC denials, bad tokens. Injections answer 429/5xx with headers, or
hold an answer past the client's timeout.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aiohttp import web

from tests.contracts.argocd_contract import ArgoCDContract
from tests.fakes.loopback import LoopbackSite, Recorded

Answer = tuple[int, Any, dict[str, str]]
GRPC = {400: 9, 401: 16, 403: 7, 404: 5, 429: 8, 500: 13, 502: 14, 503: 14, 504: 4}
REPO_URL = "https://github.com/acme/deploy.git"


def iso(instant: datetime) -> str:
    return instant.strftime("%Y-%m-%dT%H:%M:%SZ")


def error(status: int, message: str) -> dict[str, Any]:
    """Argo CD's `runtimeError` body."""
    return {"code": GRPC.get(status, 2), "error": message, "message": message, "details": []}


@dataclass
class Injection:
    status: int
    operation_id: str | None  # None: whichever request comes next
    remaining: int
    headers: dict[str, str] = field(default_factory=dict)
    message: str = "Internal Server Error"
    hold: bool = False  # do not answer until the fake stops (the client times out)


@dataclass
class Script:
    """How the application's next operation plays out, read by read."""

    running_polls: int = 1
    outcome: str = "Succeeded"  # or Failed / Error
    message: str = ""
    progressing_polls: int = 1
    health: str = "Healthy"  # after Progressing: Healthy, Degraded or Missing
    manual: bool = False


class FakeArgoCD:
    def __init__(self, contract: ArgoCDContract, *, clock: Callable[[], datetime], token: str) -> None:
        self.contract = contract
        self.clock = clock
        self.token = token
        self.url = ""
        self.requests: list[Recorded] = []
        self.violations: list[str] = []
        self.injections: list[Injection] = []
        self.apps: dict[str, dict[str, Any]] = {}
        self.scripts: dict[str, Script] = {}
        # application → the commit its targetRevision names; Argo CD compares the application with that
        # tip, so a sync to another commit leaves it OutOfSync. Unset: it compares with what was synced.
        self.tips: dict[str, str] = {}
        self.denied: set[str] = set()  # RBAC actions refused to the token: get, sync
        self.syncs: list[dict[str, Any]] = []
        self.rollbacks: list[dict[str, Any]] = []
        self.held = 0
        self._runs: dict[str, dict[str, int]] = {}  # application → reads left in Running / Progressing
        self._release = asyncio.Event()
        self._ids = itertools.count(1)
        self._site = LoopbackSite(self._handle)

    # --- lifecycle ----------------------------------------------------------------------------
    async def start(self) -> FakeArgoCD:
        self.url = await self._site.start()
        return self

    async def stop(self) -> None:
        self._release.set()
        await self._site.stop()

    # --- scripting ----------------------------------------------------------------------------
    def add_app(self, name: str, *, project: str = "default", revision: str | None = None,
                automated: bool = False, target_revision: str = "main") -> dict[str, Any]:
        now = iso(self.clock())
        source = {"repoURL": REPO_URL, "path": f"apps/{name}", "targetRevision": target_revision}
        destination = {"server": "https://kubernetes.default.svc", "namespace": name}
        app: dict[str, Any] = {
            "metadata": {"name": name, "namespace": "argocd", "uid": f"uid-{name}", "resourceVersion": "1",
                         "creationTimestamp": now},
            "spec": {"project": project, "source": source, "destination": destination,
                     "syncPolicy": {"automated": {"prune": True, "selfHeal": True}} if automated else {}},
            "status": {"sync": {"status": "Synced" if revision else "OutOfSync", "revision": revision or "",
                                "comparedTo": {"source": source, "destination": destination}},
                       "health": {"status": "Healthy" if revision else "Missing"},
                       "history": [], "reconciledAt": now, "sourceType": "Kustomize"},
        }
        if revision:
            self._remember(app, revision, started=now, initiator={"username": "admin"})
        self.apps[name] = app
        self.scripts.setdefault(name, Script())
        return app

    def set_automated(self, name: str, on: bool) -> None:
        self.apps[name]["spec"]["syncPolicy"] = {"automated": {"prune": True, "selfHeal": True}} if on else {}

    def script(self, name: str, **changes: Any) -> Script:
        script = self.scripts[name] = Script(**changes)
        return script

    def advance(self, name: str, *, phase: str | None = None, health: str | None = None, message: str = "") -> None:
        """Move the application's operation on by hand (Running → Succeeded/Failed, health changes)."""
        app = self.apps[name]
        if phase is not None:
            self._finish(app, phase, message)
        if health is not None:
            app["status"]["health"] = {"status": health, "lastTransitionTime": iso(self.clock())}

    def inject(self, status: int, *, operation_id: str | None = None, times: int = 1,
               headers: dict[str, str] | None = None, message: str = "Internal Server Error",
               hold: bool = False) -> None:
        self.injections.append(Injection(status, operation_id, times, dict(headers or {}), message, hold))

    def calls(self, operation_id: str) -> list[Recorded]:
        return [r for r in self.requests if r.operation_id == operation_id]

    def phase(self, name: str) -> str | None:
        state: dict[str, Any] = self.apps[name]["status"].get("operationState") or {}
        return state.get("phase")

    # --- serving ------------------------------------------------------------------------------
    async def _handle(self, request: web.Request) -> web.StreamResponse:
        method, path = request.method, request.path
        raw = await request.read()
        query = list(request.query.items())
        found = self.contract.match(method, path)
        body = _json_or_none(raw)
        self.requests.append(Recorded(method, path, dict(query), dict(request.headers), body,
                                      found.operation.operation_id if found else None))
        problems = self.contract.check_request(method, path, query, request.headers, raw)
        if found is None:
            self.violations += problems
            return web.json_response(error(404, "Not Found"), status=404)
        if problems:
            self.violations += problems
            return self._answer(method, path, (400, error(400, "; ".join(problems)), {}))
        operation_id = found.operation.operation_id
        for injection in self.injections:
            if injection.remaining and injection.operation_id in (None, operation_id):
                injection.remaining -= 1
                if injection.hold:
                    self.held += 1
                    await self._release.wait()
                return self._answer(method, path, (injection.status, error(injection.status, injection.message),
                                                   injection.headers))
        return self._answer(method, path, self._route(operation_id, found.path_values, request.query, body, request))

    def _route(self, operation_id: str, values: dict[str, str], query: Any, body: Any,
               request: web.Request) -> Answer:
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return 401, error(401, "invalid session: token signature is invalid"), {}
        name = values.get("name", "")
        project = query.get("project") or (body or {}).get("project")
        app = self.apps.get(name)
        if app is None or (project and app["spec"]["project"] != project):
            if project:
                return 404, error(404, f'applications.argoproj.io "{name}" not found'), {}
            return 403, error(403, "permission denied"), {}
        action = "get" if operation_id == "ApplicationService_Get" else "sync"
        if action in self.denied:
            return 403, error(403, f"permission denied: applications, {action}, "
                                   f"{app['spec']['project']}/{name}, sub: switchman, iat: 2026-01-01T00:00:00Z"), {}
        handler = {"ApplicationService_Get": self._get, "ApplicationService_Sync": self._sync,
                   "ApplicationService_Rollback": self._rollback,
                   "ApplicationService_TerminateOperation": self._terminate}.get(operation_id)
        if handler is None:
            self.violations.append(f"{operation_id}: the fake does not implement it")
            return 404, error(404, "Not Found"), {}
        return handler(app, body)

    def _answer(self, method: str, path: str, answer: Answer) -> web.Response:
        status, body, headers = answer
        self.violations += self.contract.check_response(method, path, status, body)
        return web.json_response(body, status=status, headers=headers)

    # --- operations ---------------------------------------------------------------------------
    def _get(self, app: dict[str, Any], _: Any) -> Answer:
        self._play(app)
        return 200, app, {}

    def _busy(self, app: dict[str, Any]) -> bool:
        state = app["status"].get("operationState") or {}
        return "operation" in app or state.get("phase") in ("Running", "Terminating")

    def _sync(self, app: dict[str, Any], body: dict[str, Any]) -> Answer:
        revision = body.get("revision") or app["spec"]["source"]["targetRevision"]
        target = app["spec"]["source"]["targetRevision"]
        if app["spec"]["syncPolicy"].get("automated") and revision != target:
            return 400, error(400, f"Cannot sync to {revision}: auto-sync currently set to {target}"), {}
        if self._busy(app):
            return 400, error(400, "another operation is already in progress"), {}
        self.syncs.append(body)
        operation = {"sync": {"revision": revision, "prune": bool(body.get("prune"))},
                     "initiatedBy": {"username": "switchman"}, "info": body.get("infos") or []}
        self._begin(app, operation)
        return 200, app, {}

    def _rollback(self, app: dict[str, Any], body: dict[str, Any]) -> Answer:
        if app["spec"]["syncPolicy"].get("automated"):
            return 400, error(400, "rollback cannot be initiated when auto-sync is enabled"), {}
        if self._busy(app):
            return 400, error(400, "another operation is already in progress"), {}
        entry = next((h for h in app["status"]["history"] if h["id"] == body.get("id")), None)
        if entry is None:
            return 400, error(400, f"application {app['metadata']['name']} does not have deployment with id "
                                   f"{body.get('id')}"), {}
        self.rollbacks.append(body)
        operation = {"sync": {"revision": entry["revision"], "prune": bool(body.get("prune")),
                              "source": entry["source"]}, "initiatedBy": {"username": "switchman"}}
        self._begin(app, operation)
        return 200, app, {}

    def _terminate(self, app: dict[str, Any], _: Any) -> Answer:
        if not self._busy(app):
            return 400, error(400, "Unable to terminate operation. No operation is in progress"), {}
        self._finish(app, "Failed", "Operation terminated")
        return 200, {}, {}

    # --- the controller -----------------------------------------------------------------------
    def _begin(self, app: dict[str, Any], operation: dict[str, Any]) -> None:
        app["operation"] = operation
        app["status"]["operationState"] = {"operation": operation, "phase": "Running", "startedAt": iso(self.clock()),
                                           "message": "one or more tasks are running"}
        app["status"]["sync"]["status"] = "OutOfSync"
        app["status"]["health"] = {"status": "Progressing"}
        script = self.scripts[app["metadata"]["name"]]
        self._runs[app["metadata"]["name"]] = {"running": script.running_polls, "progressing": script.progressing_polls}

    def _play(self, app: dict[str, Any]) -> None:
        name = app["metadata"]["name"]
        script, counters = self.scripts[name], self._runs.get(name)
        if script.manual or counters is None:
            return
        if self.phase(name) == "Running":
            if counters["running"] > 0:
                counters["running"] -= 1
                return
            self._finish(app, script.outcome, script.message)
            if script.outcome != "Succeeded":
                return
        if self.phase(name) == "Succeeded" and app["status"]["health"]["status"] == "Progressing":
            if counters["progressing"] > 0:
                counters["progressing"] -= 1
                return
            app["status"]["health"] = {"status": script.health, "lastTransitionTime": iso(self.clock())}

    def _finish(self, app: dict[str, Any], phase: str, message: str) -> None:
        state = app["status"]["operationState"]
        revision = state["operation"]["sync"]["revision"]
        state.update(phase=phase, finishedAt=iso(self.clock()),
                     message=message or ("successfully synced (all tasks run)" if phase == "Succeeded" else phase))
        app.pop("operation", None)
        if phase == "Succeeded":
            state["syncResult"] = {"revision": revision, "source": app["spec"]["source"]}
            tip = self.tips.get(app["metadata"]["name"], revision)
            app["status"]["sync"].update(status="Synced" if tip == revision else "OutOfSync", revision=tip)
            self._remember(app, revision, started=state["startedAt"], initiator=state["operation"]["initiatedBy"])

    def _remember(self, app: dict[str, Any], revision: str, *, started: str, initiator: dict[str, Any]) -> None:
        app["status"]["history"].append({"id": next(self._ids), "revision": revision, "deployStartedAt": started,
                                         "deployedAt": iso(self.clock()), "source": app["spec"]["source"],
                                         "initiatedBy": initiator})


def _json_or_none(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None
