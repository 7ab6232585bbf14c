"""A fake GitLab REST v4 API on 127.0.0.1 (port 0) that answers in the contract's shapes and checks every call.

Every request is judged by `GitLabContract` (method, templated path with URL-encoded segments,
query parameters, body, PRIVATE-TOKEN) before it is answered, and every response body before it is
sent; problems are recorded in `violations` (fixtures fail the test if any). A request the
contract rejects is answered 400, as GitLab's parameter validation would.

Tests script it: refs and tags → commits, CI pipelines with jobs per commit, comparisons, and the
deploy pipelines Switchman creates, which follow a `Plan` (one status step per poll) or move when
the test calls `advance`. Failures are injected per operation: any status with headers (429 with
Retry-After, a burst of 500s) and held answers (`hold`: the answer waits past the client timeout).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aiohttp import web

from tests.contracts.gitlab_contract import GitLabContract
from tests.fakes.loopback import LoopbackSite

Answer = tuple[int, Any, dict[str, str]]
FINISHED = frozenset({"success", "failed", "canceled", "skipped"})


def iso(instant: datetime) -> str:
    return instant.strftime("%Y-%m-%dT%H:%M:%S.") + f"{instant.microsecond // 1000:03d}Z"


def error(message: str) -> dict[str, Any]:
    return {"message": message}


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str  # as sent, URL-encoded
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    operation_id: str | None


@dataclass
class Injection:
    status: int
    operation_id: str | None  # None: whichever request comes next
    remaining: int
    headers: dict[str, str] = field(default_factory=dict)
    message: str = "500 Internal Server Error"
    hold: float = 0.0  # seconds to hold the answer (a timeout), status unused then


@dataclass
class Plan:
    """How a created pipeline moves: one status per poll after the first; a failed end fails `failed_job`."""

    statuses: list[str] = field(default_factory=lambda: ["created", "pending", "running", "success"])
    failed_job: str = "deploy"
    failure_reason: str = "script_failure"


class FakeGitLab:
    def __init__(self, contract: GitLabContract, *, clock: Callable[[], datetime], token: str,
                 project: str = "acme/api", trigger_token: str | None = None) -> None:
        self.contract = contract
        self.clock = clock
        self.token = token
        self.trigger_token = trigger_token
        self.project = project
        self.project_id = 4242
        self.url = ""
        self.requests: list[Recorded] = []
        self.violations: list[str] = []
        self.injections: list[Injection] = []
        self.commits: dict[str, dict[str, Any]] = {}  # sha → commit body
        self.refs: dict[str, str] = {}  # branch or tag name → sha
        self.tags: set[str] = set()
        self.comparisons: dict[tuple[str, str], tuple[list[str], list[str]]] = {}
        self.pipelines: dict[int, dict[str, Any]] = {}
        self.jobs: dict[int, list[dict[str, Any]]] = {}
        self.variables: dict[int, dict[str, str]] = {}  # what each created pipeline received
        self.plans: dict[int, Plan] = {}
        self.next_plans: list[Plan] = []  # consumed one per created pipeline; then `default_plan`
        self.default_plan = Plan()
        self.deployments: list[dict[str, Any]] = []
        self.deployment_history: dict[int, list[str]] = {}
        self.deployment_requests: list[dict[str, Any]] = []
        self._ids = itertools.count(101)
        self._site = LoopbackSite(self._handle)
        self._stopping = asyncio.Event()

    # --- lifecycle ----------------------------------------------------------------------------
    async def start(self) -> FakeGitLab:
        self.url = await self._site.start()
        return self

    async def stop(self) -> None:
        self._stopping.set()  # held answers end now
        await self._site.stop()

    # --- scripting ----------------------------------------------------------------------------
    def add_commit(self, sha: str, title: str = "a change", author: str = "Ada Lovelace") -> str:
        at = iso(self.clock())
        self.commits[sha] = {
            "id": sha, "short_id": sha[:8], "created_at": at, "parent_ids": [], "title": title,
            "message": title + "\n", "author_name": author, "author_email": "ada@example.com",
            "authored_date": at, "committer_name": author, "committer_email": "ada@example.com",
            "committed_date": at, "web_url": f"{self.url}/{self.project}/-/commit/{sha}"}
        return sha

    def add_ref(self, name: str, sha: str, *, tag: bool = False) -> str:
        if sha not in self.commits:
            self.add_commit(sha)
        self.refs[name] = sha
        if tag:
            self.tags.add(name)
        return sha

    def set_comparison(self, base: str, head: str, commits: list[str], files: list[str]) -> None:
        for sha in commits:
            self.commits.get(sha) or self.add_commit(sha)
        self.comparisons[(base, head)] = (commits, files)

    def add_pipeline(self, sha: str, ref: str, status: str, *, source: str = "push",
                     jobs: Sequence[tuple[str, str, str | None]] = (), name: str | None = None,
                     created: datetime | None = None) -> int:
        """A pipeline with jobs given as (name, status, failure_reason)."""
        pipeline_id = next(self._ids)
        at = iso(created or self.clock())
        self.pipelines[pipeline_id] = {
            "id": pipeline_id, "iid": pipeline_id - 100, "project_id": self.project_id, "sha": sha, "ref": ref,
            "status": status, "source": source, "name": name, "created_at": at, "updated_at": at,
            "web_url": f"{self.url}/{self.project}/-/pipelines/{pipeline_id}", "before_sha": "0" * 40,
            "tag": ref in self.tags, "yaml_errors": None, "started_at": None, "finished_at": None,
            "committed_at": None, "duration": None, "queued_duration": None, "coverage": None,
            "user": {"id": 7, "username": "switchman-bot", "name": "Switchman", "state": "active",
                     "avatar_url": "", "web_url": f"{self.url}/switchman-bot"},
            "detailed_status": {"icon": f"status_{status}", "text": status, "label": status, "group": status}}
        self.jobs[pipeline_id] = [self._job(pipeline_id, job, "deploy" if job == "deploy" else "build", job_status,
                                            reason) for job, job_status, reason in jobs]
        return pipeline_id

    def _job(self, pipeline_id: int, name: str, stage: str, status: str, reason: str | None) -> dict[str, Any]:
        job_id = next(self._ids)
        pipeline = self.pipelines[pipeline_id]
        job: dict[str, Any] = {
            "id": job_id, "status": status, "stage": stage, "name": name, "ref": pipeline["ref"],
            "tag": pipeline["tag"], "coverage": None, "allow_failure": False, "created_at": pipeline["created_at"],
            "started_at": None, "finished_at": None, "erased_at": None, "duration": None, "queued_duration": None,
            "user": None, "commit": None,
            "pipeline": {k: pipeline[k] for k in ("id", "iid", "project_id", "sha", "ref", "status", "source",
                                                  "created_at", "updated_at", "web_url")},
            "web_url": f"{self.url}/{self.project}/-/jobs/{job_id}", "artifacts": [], "runner": None,
            "archived": False, "tag_list": []}
        if reason is not None:
            job["failure_reason"] = reason
        return job

    def advance(self, pipeline_id: int, status: str) -> None:
        """Move a pipeline (and its jobs) to `status`; a failed end fails the plan's job with its reason."""
        pipeline = self.pipelines[pipeline_id]
        pipeline.update(status=status, updated_at=iso(self.clock()))
        pipeline["detailed_status"].update(icon=f"status_{status}", text=status, label=status, group=status)
        if status in FINISHED:
            pipeline["finished_at"] = iso(self.clock())
        plan = self.plans.get(pipeline_id)
        for job in self.jobs.get(pipeline_id, []):
            job["pipeline"]["status"] = status
            if plan is not None and status == "failed":
                failed = job["name"] == plan.failed_job
                job["status"] = "failed" if failed else "success"
                if failed:
                    job["failure_reason"] = plan.failure_reason
            elif status not in ("created", "waiting_for_resource", "preparing", "scheduled"):
                job["status"] = status

    def inject(self, status: int, *, operation_id: str | None = None, times: int = 1,
               headers: dict[str, str] | None = None, message: str = "500 Internal Server Error") -> None:
        self.injections.append(Injection(status, operation_id, times, dict(headers or {}), message))

    def hold(self, seconds: float, *, operation_id: str | None = None, times: int = 1) -> None:
        """Answer the next `times` matching requests only after `seconds` (or when the fake stops)."""
        self.injections.append(Injection(200, operation_id, times, hold=seconds))

    def calls(self, operation_id: str) -> list[Recorded]:
        return [r for r in self.requests if r.operation_id == operation_id]

    def created(self) -> list[int]:
        """Ids of the pipelines Switchman created, oldest first."""
        return sorted(self.variables)

    # --- serving ------------------------------------------------------------------------------
    async def _handle(self, request: web.Request) -> web.StreamResponse:
        method, path = request.method, request.rel_url.raw_path
        raw = await request.read()
        query = list(request.query.items())
        found = self.contract.match(method, path)
        body = _json_or_none(raw)
        operation_id = found.operation.operation_id if found else None
        self.requests.append(Recorded(method, path, dict(query), dict(request.headers), body, operation_id))
        problems = self.contract.check_request(method, path, query, request.headers, raw)
        if found is None:
            self.violations += problems
            return web.json_response(error("404 Not Found"), status=404)
        if problems:
            self.violations += problems
            return self._answer(method, path, (400, {"error": "; ".join(problems)[:300]}, {}))
        for injection in self.injections:
            if injection.remaining and injection.operation_id in (None, operation_id):
                injection.remaining -= 1
                if injection.hold:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._stopping.wait(), injection.hold)
                    break
                return self._answer(method, path, (injection.status, error(injection.message), injection.headers))
        return self._answer(method, path, self._route(found.operation.operation_id, found.path_values,
                                                      dict(query), body, request))

    def _route(self, operation_id: str, values: dict[str, str], query: dict[str, str], body: Any,
               request: web.Request) -> Answer:
        if operation_id.endswith("triggerPipeline"):
            if not isinstance(body, dict) or body.get("token") != self.trigger_token or self.trigger_token is None:
                return 404, error("404 Not Found"), {}
        elif request.headers.get("PRIVATE-TOKEN") != self.token:
            return 401, error("401 Unauthorized"), {}
        if values.get("id") not in (self.project, str(self.project_id)):
            return 404, error("404 Project Not Found"), {}
        handler = self.HANDLERS.get(operation_id)
        if handler is None:
            self.violations.append(f"{operation_id}: the fake does not implement it; add a handler")
            return 404, error("404 Not Found"), {}
        return handler(self, values, query, body)

    def _answer(self, method: str, path: str, answer: Answer) -> web.Response:
        status, body, headers = answer
        self.violations += self.contract.check_response(method, path, status, body)
        if body is None:
            return web.Response(status=status, headers=headers)
        return web.json_response(body, status=status, headers=headers)

    # --- operations ---------------------------------------------------------------------------
    def _sha_for(self, ref: str) -> str | None:
        if ref in self.refs:
            return self.refs[ref]
        matches = [sha for sha in self.commits if sha.startswith(ref)] if len(ref) >= 7 else []
        return matches[0] if len(matches) == 1 else None

    def _get_commit(self, values: dict[str, str], query: dict[str, str], _: Any) -> Answer:
        sha = self._sha_for(values["sha"])
        if sha is None:
            return 404, error("404 Commit Not Found"), {}
        commit = dict(self.commits[sha], status="success", project_id=self.project_id)
        return 200, commit, {}

    def _get_tag(self, values: dict[str, str], query: dict[str, str], _: Any) -> Answer:
        name = values["tag_name"]
        if name not in self.tags:
            return 404, error("404 Tag Not Found"), {}
        commit = self.commits[self.refs[name]]
        return 200, {"name": name, "message": "", "target": commit["id"], "commit": commit, "protected": False,
                     "created_at": commit["created_at"]}, {}

    def _compare(self, values: dict[str, str], query: dict[str, str], _: Any) -> Answer:
        base, head = self._sha_for(query["from"]), self._sha_for(query["to"])
        if base is None or head is None:
            return 404, error("404 Ref Not Found"), {}
        commits, files = self.comparisons.get((query["from"], query["to"]), ([], []))
        listed = [self.commits[sha] for sha in commits]
        return 200, {"commit": listed[-1] if listed else self.commits[head], "commits": listed,
                     "diffs": [{"diff": "", "new_path": f, "old_path": f, "a_mode": "100644", "b_mode": "100644",
                                "new_file": False, "renamed_file": False, "deleted_file": False} for f in files],
                     "compare_timeout": False, "compare_same_ref": base == head,
                     "web_url": f"{self.url}/{self.project}/-/compare/{base}...{head}"}, {}

    def _list_pipelines(self, values: dict[str, str], query: dict[str, str], _: Any) -> Answer:
        found = [p for p in self.pipelines.values()
                 if all(p.get(k) == query[k] for k in ("sha", "ref", "status", "source") if k in query)
                 and ("created_after" not in query or _instant(p["created_at"]) > _instant(query["created_after"]))]
        found.sort(key=lambda p: p["id"], reverse=query.get("sort", "desc") == "desc")
        basic = ("id", "iid", "project_id", "sha", "ref", "status", "source", "name", "created_at", "updated_at",
                 "web_url")
        return 200, [{k: p[k] for k in basic} for p in _page(found, query)], {}

    def _create_pipeline(self, values: dict[str, str], query: dict[str, str], body: Any) -> Answer:
        ref = body["ref"]
        sha = self.refs.get(ref)
        if sha is None:
            return 400, {"message": {"base": ["Reference not found"]}}, {}
        given = body.get("variables") or []
        variables = dict(given) if isinstance(given, dict) else {v["key"]: v["value"] for v in given}
        plan = self.next_plans.pop(0) if self.next_plans else self.default_plan
        source = "trigger" if isinstance(given, dict) else "api"
        pipeline_id = self.add_pipeline(sha, ref, plan.statuses[0], source=source,
                                        jobs=[("build", "created", None), (plan.failed_job, "created", None)])
        self.jobs[pipeline_id][1]["stage"] = "deploy"
        self.variables[pipeline_id] = variables
        self.plans[pipeline_id] = Plan(list(plan.statuses), plan.failed_job, plan.failure_reason)
        self.advance(pipeline_id, plan.statuses[0])
        return 201, self.pipelines[pipeline_id], {}

    def _get_pipeline(self, values: dict[str, str], query: dict[str, str], _: Any) -> Answer:
        pipeline_id = int(values["pipeline_id"])
        if pipeline_id not in self.pipelines:
            return 404, error("404 Not found"), {}
        plan = self.plans.get(pipeline_id)
        if plan is not None and len(plan.statuses) > 1 and self.pipelines[pipeline_id]["status"] not in FINISHED:
            plan.statuses.pop(0)  # the pipeline moves on one step per poll
            self.advance(pipeline_id, plan.statuses[0])
        return 200, self.pipelines[pipeline_id], {}

    def _list_jobs(self, values: dict[str, str], query: dict[str, str], _: Any) -> Answer:
        pipeline_id = int(values["pipeline_id"])
        if pipeline_id not in self.pipelines:
            return 404, error("404 Not found"), {}
        return 200, _page(self.jobs.get(pipeline_id, []), query), {}

    def _cancel(self, values: dict[str, str], query: dict[str, str], _: Any) -> Answer:
        pipeline_id = int(values["pipeline_id"])
        if pipeline_id not in self.pipelines:
            return 404, error("404 Not found"), {}
        if self.pipelines[pipeline_id]["status"] not in FINISHED:
            self.plans.pop(pipeline_id, None)
            self.advance(pipeline_id, "canceled")
        return 200, self.pipelines[pipeline_id], {}  # 200 whatever the state (GitLab issue 414963)

    def _list_deployments(self, values: dict[str, str], query: dict[str, str], _: Any) -> Answer:
        found = [d for d in self.deployments
                 if ("environment" not in query or d["environment"]["name"] == query["environment"])
                 and ("status" not in query or d["status"] == query["status"])]
        found.sort(key=lambda d: d["id"], reverse=query.get("sort", "asc") == "desc")
        return 200, _page(found, query), {}

    def _create_deployment(self, values: dict[str, str], query: dict[str, str], body: Any) -> Answer:
        deployment_id, at = next(self._ids), iso(self.clock())
        deployment = {"id": deployment_id, "iid": len(self.deployments) + 1, "ref": body["ref"], "sha": body["sha"],
                      "created_at": at, "updated_at": at, "status": body["status"], "deployable": None,
                      "user": {"id": 7, "username": "switchman-bot", "name": "Switchman", "state": "active",
                               "avatar_url": "", "web_url": f"{self.url}/switchman-bot"},
                      "environment": {"id": 1, "name": body["environment"], "slug": body["environment"],
                                      "external_url": "", "created_at": at, "updated_at": at}}
        self.deployment_requests.append(body)
        self.deployments.append(deployment)
        self.deployment_history[deployment_id] = [body["status"]]
        return 201, deployment, {}

    def _update_deployment(self, values: dict[str, str], query: dict[str, str], body: Any) -> Answer:
        deployment = next((d for d in self.deployments if d["id"] == int(values["deployment_id"])), None)
        if deployment is None:
            return 404, error("404 Not found"), {}
        if deployment["status"] == body["status"] or deployment["status"] in FINISHED:
            return 400, {"message": f"Failed to transition deployment from {deployment['status']}"}, {}
        deployment.update(status=body["status"], updated_at=iso(self.clock()))
        self.deployment_history[deployment["id"]].append(body["status"])
        return 200, deployment, {}

    HANDLERS: dict[str, Callable[[FakeGitLab, dict[str, str], dict[str, str], Any], Answer]] = {
        "getApiV4ProjectsIdRepositoryCommitsSha": _get_commit,
        "getApiV4ProjectsIdRepositoryTagsTagName": _get_tag,
        "getApiV4ProjectsIdRepositoryCompare": _compare,
        "getApiV4ProjectsIdPipelines": _list_pipelines,
        "postApiV4ProjectsIdPipeline": _create_pipeline,
        "postApiV4ProjectsId(refRef)triggerPipeline": _create_pipeline,
        "getApiV4ProjectsIdPipelinesPipelineId": _get_pipeline,
        "getApiV4ProjectsIdPipelinesPipelineIdJobs": _list_jobs,
        "postApiV4ProjectsIdPipelinesPipelineIdCancel": _cancel,
        "getApiV4ProjectsIdDeployments": _list_deployments,
        "postApiV4ProjectsIdDeployments": _create_deployment,
        "putApiV4ProjectsIdDeploymentsDeploymentId": _update_deployment,
    }


def _page(items: list[dict[str, Any]], query: dict[str, str]) -> list[dict[str, Any]]:
    per_page, page = int(query.get("per_page", 20)), int(query.get("page", 1))
    return items[(page - 1) * per_page: page * per_page]


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _json_or_none(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None
