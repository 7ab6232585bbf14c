"""A fake GitHub REST API on 127.0.0.1 (port 0) that answers in the contract's shapes and checks every call.

Every request is judged by `GitHubContract` (method, templated path, query parameters, body,
headers) before it is answered, and every response body before it is sent; problems are recorded
in `violations` (the `github` fixture fails the test if any). A request the contract rejects is
answered 422, as GitHub would.

Tests script it: refs → shas, check runs and statuses per sha, comparisons, workflow runs whose
status the test advances explicitly, jobs, 200-vs-204 dispatch behaviour, injected 5xx/429 answers
with headers (Retry-After, x-ratelimit-*), and a store of deployments and their statuses.

It authenticates with a fixed `token`, or — after `enable_app` — as a GitHub App: it checks app
JWTs at the access_tokens endpoint and accepts the installation tokens it issued until they expire
on its clock (see `github_app_auth.py`); `app.revoke()` ends them early.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

from tests.contracts.github_contract import GitHubContract
from tests.fakes.github_app_auth import ACCESS_TOKENS_PATH, OPERATION_ID, FakeApp
from tests.fakes.github_bodies import Bodies
from tests.fakes.loopback import LoopbackSite, Recorded

Answer = tuple[int, Any, dict[str, str]]


@dataclass
class Injection:
    status: int
    operation_id: str | None  # None: whichever request comes next
    remaining: int
    headers: dict[str, str] = field(default_factory=dict)
    message: str = "Server Error"


def default_run_title(inputs: dict[str, str]) -> str:
    return f"deploy {inputs.get('environment')} release {inputs.get('release_id')} stage {inputs.get('stage')}"


class FakeGitHub:
    def __init__(self, contract: GitHubContract, *, clock: Callable[[], datetime], token: str | None = None,
                 repo: str = "acme/api", prefix: str = "") -> None:
        self.contract = contract
        self.clock = clock
        self.token = token  # None: only a GitHub App's installation tokens are accepted
        self.app: FakeApp | None = None
        self.repo = repo
        self.prefix = prefix  # e.g. "/api/v3" to play GitHub Enterprise Server
        self.url = ""
        self.requests: list[Recorded] = []
        self.violations: list[str] = []
        self.injections: list[Injection] = []
        self.refs: dict[str, str] = {}
        self.check_runs: dict[str, list[dict[str, Any]]] = {}
        self.statuses: dict[str, list[dict[str, Any]]] = {}
        self.comparisons: dict[tuple[str, str], dict[str, Any]] = {}
        self.runs: dict[int, dict[str, Any]] = {}
        self.hidden_for: dict[int, int] = {}  # run id → list requests still to answer without it
        self.jobs: dict[int, list[dict[str, Any]]] = {}
        self.dispatches: list[dict[str, Any]] = []
        self.deployments: list[dict[str, Any]] = []
        self.deployment_statuses: dict[int, list[dict[str, Any]]] = {}
        self.dispatch_returns_run = True  # False: answer 204 like GitHub Enterprise Server before run details
        self.rejects_return_run_details = False  # an even older server: 422 on the unknown key
        self.run_title: Callable[[dict[str, str]], str] = default_run_title
        self.run_visible_after = 0
        self.runs_advance_when_polled = False  # True: queued → in_progress → completed/success, one step a poll
        self._ids = itertools.count(1001)
        self._site = LoopbackSite(self._handle)
        self.bodies = Bodies(contract, "", repo)

    # --- lifecycle ----------------------------------------------------------------------------
    async def start(self) -> FakeGitHub:
        base = await self._site.start()
        self.url = f"{base}{self.prefix}"
        self.bodies.base_url = base
        return self

    async def stop(self) -> None:
        await self._site.stop()

    # --- scripting ----------------------------------------------------------------------------
    def add_ref(self, ref: str, sha: str | None = None) -> str:
        sha = sha or f"{next(self._ids):040x}"
        self.refs[ref] = sha
        self.refs.setdefault(sha, sha)
        return sha

    def add_check_run(self, sha: str, name: str, status: str = "completed", conclusion: str | None = "success"
                      ) -> dict[str, Any]:
        run = self.bodies.check_run(id=next(self._ids), sha=sha, name=name, status=status,
                                    conclusion=conclusion if status == "completed" else None, at=self.clock())
        self.check_runs.setdefault(sha, []).append(run)
        return run

    def add_status(self, sha: str, context: str, state: str) -> None:
        status = self.bodies.commit_status(id=next(self._ids), context=context, state=state, at=self.clock())
        self.statuses.setdefault(sha, []).append(status)

    def set_comparison(self, base: str, head: str, commits: list[tuple[str, str, str | None, str]],
                       files: list[str], committed: list[str] | None = None, emails: list[str] | None = None) -> None:
        self.comparisons[(base, head)] = self.bodies.comparison(base=base, head=head, commits=commits, files=files,
                                                                committed=committed, emails=emails)

    def set_behind(self, base: str, head: str, behind_by: int) -> None:
        """`head` is an ancestor of `base` (`behind_by` commits older)."""
        self.comparisons[(base, head)] = self.bodies.comparison_behind(base=base, head=head, behind_by=behind_by)

    def add_run(self, *, workflow: str = "deploy.yml", title: str, branch: str = "main",
                event: str = "workflow_dispatch", status: str = "queued", created: datetime | None = None) -> int:
        run_id = next(self._ids)
        self.runs[run_id] = self.bodies.workflow_run(
            id=run_id, workflow=workflow, title=title, branch=branch, sha=self.refs.get(branch, "0" * 40),
            event=event, status=status, conclusion=None, created=created or self.clock())
        return run_id

    def advance_run(self, run_id: int, status: str, conclusion: str | None = None) -> None:
        self.runs[run_id].update(status=status, conclusion=conclusion)

    def set_jobs(self, run_id: int, jobs: list[tuple[str, str | None]]) -> None:
        self.jobs[run_id] = [self.bodies.job(id=next(self._ids), run_id=run_id, name=name, conclusion=conclusion,
                                             at=self.clock()) for name, conclusion in jobs]

    def enable_app(self, app_id: int, installation_id: int, public_key: RSAPublicKey, *,
                   token_lifetime: timedelta = timedelta(hours=1)) -> FakeApp:
        """Play GitHub for one installation of a GitHub App whose public key is `public_key`."""
        self.app = FakeApp(app_id, installation_id, public_key, self.clock, token_lifetime)
        return self.app

    def inject(self, status: int, *, operation_id: str | None = None, times: int = 1,
               headers: dict[str, str] | None = None, message: str = "Server Error") -> None:
        self.injections.append(Injection(status, operation_id, times, dict(headers or {}), message))

    def calls(self, operation_id: str) -> list[Recorded]:
        return [r for r in self.requests if r.operation_id == operation_id]

    # --- serving ------------------------------------------------------------------------------
    async def _handle(self, request: web.Request) -> web.StreamResponse:
        method, path = request.method, request.path
        if not path.startswith(self.prefix):
            self.violations.append(f"{method} {path}: outside the API prefix {self.prefix!r}")
            return web.json_response(Bodies.error("Not Found"), status=404)
        path = path[len(self.prefix):]
        raw = await request.read()
        query = list(request.query.items())
        tokens_for = ACCESS_TOKENS_PATH.match(path)
        if self.app is not None and method == "POST" and tokens_for:
            return self._access_tokens(path, tokens_for["installation_id"], raw, request)
        found = self.contract.match(method, path)
        body = _json_or_none(raw)
        self.requests.append(Recorded(method, path, dict(query), dict(request.headers), body,
                                      found.operation.operation_id if found else None))
        problems = self.contract.check_request(method, path, query, request.headers, raw)
        if found is None:
            self.violations += problems
            return web.json_response(Bodies.error("Not Found"), status=404)
        if problems:
            self.violations += problems
            return self._answer(method, path, (422, Bodies.error("Invalid request."), {}))
        return self._answer(method, path, self._route(found.operation.operation_id, found.path_values,
                                                      dict(query), body, request))

    def _access_tokens(self, path: str, installation_id: str, raw: bytes, request: web.Request) -> web.Response:
        assert self.app is not None
        body = _json_or_none(raw)
        self.requests.append(Recorded("POST", path, {}, dict(request.headers), body, OPERATION_ID))
        injected = self._injected(OPERATION_ID)
        if injected is not None:
            status, answer, headers = injected
        else:
            (status, answer, headers), problems = self.app.exchange(
                installation_id, {k.lower(): v for k, v in request.headers.items()}, body)
            self.violations += problems
        self.violations += self.app.answer_problems(status, answer)
        return web.json_response(answer, status=status, headers=headers)

    def _authorized(self, authorization: str | None) -> bool:
        if self.token is not None and authorization == f"Bearer {self.token}":
            return True
        return self.app is not None and self.app.accepts(authorization)

    def _injected(self, operation_id: str) -> Answer | None:
        for injection in self.injections:
            if injection.remaining and injection.operation_id in (None, operation_id):
                injection.remaining -= 1
                return injection.status, Bodies.error(injection.message), injection.headers
        return None

    def _route(self, operation_id: str, values: dict[str, str], query: dict[str, str], body: Any,
               request: web.Request) -> Answer:
        if not self._authorized(request.headers.get("Authorization")):
            return 401, Bodies.error("Bad credentials"), {}
        if f"{values.get('owner')}/{values.get('repo')}" != self.repo:
            return 404, Bodies.error("Not Found"), {}
        injected = self._injected(operation_id)
        if injected is not None:
            return injected
        handler: Callable[[dict[str, str], dict[str, str], Any], Answer] | None = getattr(
            self, "_" + operation_id.split("/")[1].replace("-", "_"), None)
        if handler is None:
            self.violations.append(f"{operation_id}: the fake does not implement it; add a handler")
            return 404, Bodies.error("Not Found"), {}
        return handler(values, query, body)

    def _answer(self, method: str, path: str, answer: Answer) -> web.Response:
        status, body, headers = answer
        self.violations += self.contract.check_response(method, path, status, body)
        if body is None:
            return web.Response(status=status, headers=headers)
        return web.json_response(body, status=status, headers=headers)

    # --- operations (named after the contract's operationIds) ---------------------------------
    def _sha_for(self, ref: str) -> str | None:
        return self.refs.get(ref) or (ref if ref in self.check_runs or ref in self.statuses else None)

    def _get_combined_status_for_ref(self, values: dict[str, str], query: dict[str, str], _: Any) -> Answer:
        sha = self._sha_for(values["ref"])
        if sha is None:
            return 422, Bodies.error(f"No commit found for SHA: {values['ref']}"), {}
        statuses = self.statuses.get(sha, [])
        return 200, self.bodies.combined_status(sha=sha, statuses=_page(statuses, query)), {}

    def _list_for_ref(self, values: dict[str, str], query: dict[str, str], _: Any) -> Answer:
        sha = self._sha_for(values["ref"])
        if sha is None:
            return 422, Bodies.error(f"No commit found for SHA: {values['ref']}"), {}
        runs = self.check_runs.get(sha, [])
        return 200, {"total_count": len(runs), "check_runs": _page(runs, query)}, {}

    def _compare_commits(self, values: dict[str, str], query: dict[str, str], _: Any) -> Answer:
        base, _sep, head = values["basehead"].partition("...")
        comparison = self.comparisons.get((base, head))
        return (200, comparison, {}) if comparison else (404, Bodies.error("Not Found"), {})

    def _create_workflow_dispatch(self, values: dict[str, str], query: dict[str, str], body: Any) -> Answer:
        if self.rejects_return_run_details and "return_run_details" in body:
            return 422, Bodies.error('Invalid request.\n\n"return_run_details" is not a permitted key.'), {}
        self.dispatches.append(body)
        run_id = self.add_run(workflow=values["workflow_id"], title=self.run_title(body.get("inputs", {})),
                              branch=body["ref"])
        self.hidden_for[run_id] = self.run_visible_after
        if self.dispatch_returns_run and body.get("return_run_details"):
            run = self.runs[run_id]
            return 200, {"workflow_run_id": run_id, "run_url": run["url"], "html_url": run["html_url"]}, {}
        return 204, None, {}

    def _list_workflow_runs(self, values: dict[str, str], query: dict[str, str], _: Any) -> Answer:
        runs = []
        for run_id, run in self.runs.items():
            if self.hidden_for.get(run_id, 0) > 0:
                self.hidden_for[run_id] -= 1
                continue
            if not run["path"].startswith(f".github/workflows/{values['workflow_id']}@"):
                continue
            if all(run.get({"branch": "head_branch"}.get(k, k)) == v for k, v in query.items()
                   if k in ("event", "branch", "status")):
                runs.append(run)
        runs.sort(key=lambda r: (r["created_at"], r["id"]), reverse=True)
        return 200, {"total_count": len(runs), "workflow_runs": _page(runs, query)}, {}

    def _get_workflow_run(self, values: dict[str, str], query: dict[str, str], _: Any) -> Answer:
        run = self.runs.get(int(values["run_id"]))
        if run is not None and self.runs_advance_when_polled:
            if run["status"] == "queued":
                run.update(status="in_progress")
            elif run["status"] == "in_progress":
                run.update(status="completed", conclusion="success")
        return (200, run, {}) if run else (404, Bodies.error("Not Found"), {})

    def _list_jobs_for_workflow_run(self, values: dict[str, str], query: dict[str, str], _: Any) -> Answer:
        run_id = int(values["run_id"])
        if run_id not in self.runs:
            return 404, Bodies.error("Not Found"), {}
        jobs = self.jobs.get(run_id) or [self.bodies.job(id=run_id * 10, run_id=run_id, name="deploy",
                                                         conclusion=self.runs[run_id]["conclusion"], at=self.clock())]
        return 200, {"total_count": len(jobs), "jobs": _page(jobs, query)}, {}

    def _cancel_workflow_run(self, values: dict[str, str], query: dict[str, str], _: Any) -> Answer:
        run = self.runs.get(int(values["run_id"]))
        if run is None:
            return 404, Bodies.error("Not Found"), {}
        if run["status"] == "completed":
            return 409, Bodies.error("Cannot cancel a workflow run that is completed."), {}
        run.update(status="completed", conclusion="cancelled")
        return 202, {}, {}

    def _create_deployment(self, values: dict[str, str], query: dict[str, str], body: Any) -> Answer:
        deployment = self.bodies.deployment(id=next(self._ids), request=body, at=self.clock())
        self.deployments.append(deployment)
        return 201, deployment, {}

    def _list_deployments(self, values: dict[str, str], query: dict[str, str], _: Any) -> Answer:
        found = [d for d in reversed(self.deployments)
                 if all(d.get(k) == query[k] for k in ("sha", "environment", "ref", "task") if k in query)]
        return 200, _page(found, query), {}

    def _create_deployment_status(self, values: dict[str, str], query: dict[str, str], body: Any) -> Answer:
        deployment_id = int(values["deployment_id"])
        if not any(d["id"] == deployment_id for d in self.deployments):
            return 404, Bodies.error("Not Found"), {}
        status = self.bodies.deployment_status(id=next(self._ids), deployment_id=deployment_id, request=body,
                                               at=self.clock())
        self.deployment_statuses.setdefault(deployment_id, []).append(status)
        return 201, status, {}


def _page(items: list[dict[str, Any]], query: dict[str, str]) -> list[dict[str, Any]]:
    per_page, page = int(query.get("per_page", 30)), int(query.get("page", 1))
    return items[(page - 1) * per_page: page * per_page]


def _json_or_none(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None
