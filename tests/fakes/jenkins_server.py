"""A fake Jenkins on 127.0.0.1 (port 0) that keeps the documented remote-access contract and records breaches.

Jenkins has no machine-readable spec, so the contract is `../shared/contracts/ci_endpoints.md`
(Jenkins section): HTTP Basic `user:token`; `POST /job/{a}/job/{b}/buildWithParameters` with form
parameters answering 201 + `Location: {root}/queue/item/{N}/` (303 to the existing item when an
identical one is queued); queue items at `/queue/item/{N}/api/json` (`why` while waiting,
`executable` or `cancelled` once left); builds at `/job/…/{N}/api/json` (`building`, `result`);
`POST …/{N}/stop`, `POST /queue/cancelItem?id=N`; the crumb issuer. Anything else — a GET where
a POST is due, an undeclared or missing parameter, a job path without `/job/` nesting, a query
parameter Jenkins' API pages do not take — is answered as Jenkins would and recorded in
`violations` (the fixtures fail the test if any).

Tests script it: queue items wait `queue_polls` polls with a `why` (a slow queue), builds run for
`build_polls` polls and end with the next of `results` (default SUCCESS); `inject` answers the
next matching requests with a status and headers (429 + Retry-After, a burst of 500s);
`hold` keeps answers back until the fake stops (a client timeout); `crumb_required` turns on
CSRF protection for requests without a valid crumb and session cookie.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aiohttp import web

from tests.fakes.loopback import LoopbackSite

DECLARED = ("SWITCHMAN_ENVIRONMENT", "SWITCHMAN_STRATEGY", "SWITCHMAN_STAGE", "SWITCHMAN_RELEASE_ID",
            "SWITCHMAN_ROLLBACK", "SWITCHMAN_SHA", "SWITCHMAN_REF")
API_QUERY = {"tree", "depth", "pretty"}  # what every /api/json page takes
_JOB = re.compile(r"^((?:/job/[^/]+)+)(/.*)?$")


@dataclass
class Injection:
    status: int
    kind: str | None  # None: any request; else one of the kinds `_kind` names
    remaining: int
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Build:
    number: int
    job: str
    params: dict[str, str]
    timestamp: int
    polls_left: int
    result_when_done: str
    result: str | None = None

    @property
    def building(self) -> bool:
        return self.result is None


@dataclass
class QueueItem:
    id: int
    job: str
    params: dict[str, str]
    since: int
    polls_left: int
    why: str
    build: Build | None = None
    cancelled: bool = False


class FakeJenkins:
    def __init__(self, *, clock: Callable[[], datetime], user: str, token: str,
                 jobs: tuple[str, ...] = ("team/deploy-api",)) -> None:
        self.clock = clock
        self.user, self.token = user, token
        self.jobs = {"".join(f"/job/{p}" for p in job.split("/")): job for job in jobs}
        self.url = ""
        self.violations: list[str] = []
        self.requests: list[tuple[str, str, dict[str, str], dict[str, str]]] = []  # method, path, query, form
        self.injections: list[Injection] = []
        self.queue: dict[int, QueueItem] = {}
        self.builds: dict[str, dict[int, Build]] = {path: {} for path in self.jobs}
        self.queue_polls = 0  # polls a new item waits in the queue
        self.why = "Waiting for next available executor"
        self.build_polls = 1  # polls a build stays building
        self.results: list[str] = []  # results of the next builds, in order; SUCCESS when empty
        self.crumb_required = False
        self.crumbs: dict[str, str] = {}  # session cookie → crumb
        self.forget_left_items = False  # a queue item that left is 404 (Jenkins keeps them only minutes)
        self.held: list[Injection] = []  # answers to hold back until stop (client timeouts)
        self.holding = asyncio.Event()  # set once an answer is being held back
        self._release = asyncio.Event()
        self._ids = itertools.count(101)
        self._site = LoopbackSite(self._handle)

    # --- lifecycle ----------------------------------------------------------------------------
    async def start(self) -> FakeJenkins:
        self.url = await self._site.start()
        return self

    async def stop(self) -> None:
        self._release.set()
        await self._site.stop()

    # --- scripting ----------------------------------------------------------------------------
    def inject(self, status: int, *, kind: str | None = None, times: int = 1,
               headers: dict[str, str] | None = None) -> None:
        """Answer the next `times` requests of `kind` (build, queue_item, build_info, …) with `status`."""
        self.injections.append(Injection(status, kind, times, dict(headers or {})))

    def hold(self, times: int, *, kind: str | None = None) -> None:
        """Keep the next `times` answers (to `kind` requests) back until the fake stops: the client times out."""
        self.held.append(Injection(0, kind, times))

    def calls(self, kind: str) -> list[tuple[str, str, dict[str, str], dict[str, str]]]:
        return [r for r in self.requests if _kind(r[0], r[1]) == kind]

    def all_builds(self) -> list[Build]:
        return sorted((b for builds in self.builds.values() for b in builds.values()), key=lambda b: b.timestamp)

    # --- serving ------------------------------------------------------------------------------
    async def _handle(self, request: web.Request) -> web.StreamResponse:
        method, path = request.method, request.path
        form = {k: str(v) for k, v in (await request.post()).items()} if method == "POST" else {}
        query = dict(request.query)
        self.requests.append((method, path, query, form))
        kind = _kind(method, path)
        for held in self.held:
            if held.remaining and held.kind in (None, kind):
                held.remaining -= 1
                self.holding.set()
                await self._release.wait()
                return web.Response(status=503)
        if not self._authorised(request):
            return web.Response(status=401, text="Invalid password/token for user")
        for injection in self.injections:
            if injection.remaining and injection.kind in (None, kind):
                injection.remaining -= 1
                return web.Response(status=injection.status, headers=injection.headers, text="injected")
        if method == "POST" and self.crumb_required and not self._crumb_ok(request):
            return web.Response(status=403, text="No valid crumb was included in the request")
        if kind is None:
            self.violations.append(f"{method} {path}: not a Jenkins remote-access endpoint")
            return web.Response(status=404, text="Not Found")
        expected = "POST" if kind in ("build", "stop", "cancel_item") else "GET"
        if method != expected:
            self.violations.append(f"{method} {path}: Jenkins wants {expected} here")
            return web.Response(status=405, text="Method Not Allowed")
        allowed = {"cancel_item": {"id"}, "build": set()}.get(kind, API_QUERY)
        if set(query) - allowed:
            self.violations.append(f"{method} {path}: unexpected query {sorted(set(query) - allowed)}")
        handler: Callable[[str, dict[str, str], dict[str, str], web.Request], web.StreamResponse] = getattr(
            self, "_" + kind)
        return handler(path, query, form, request)

    def _authorised(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            self.violations.append(f"{request.method} {request.path}: no HTTP Basic credentials")
            return False
        expected = base64.b64encode(f"{self.user}:{self.token}".encode()).decode()
        return header == f"Basic {expected}"

    def _crumb_ok(self, request: web.Request) -> bool:
        session = request.cookies.get("JSESSIONID.fake")
        return session is not None and self.crumbs.get(session) == request.headers.get("Jenkins-Crumb")

    def _job(self, path: str) -> tuple[str | None, str]:
        match = _JOB.match(path)
        if match is None:
            return None, path
        return (match.group(1) if match.group(1) in self.jobs else None), match.group(2) or ""

    # --- endpoints ----------------------------------------------------------------------------
    def _crumb(self, path: str, query: dict[str, str], form: dict[str, str], request: web.Request
               ) -> web.StreamResponse:
        if not self.crumb_required:
            return web.Response(status=404, text="Not Found")  # CSRF protection is off
        session, crumb = secrets.token_hex(8), secrets.token_hex(16)
        self.crumbs[session] = crumb
        response = web.json_response({"_class": "hudson.security.csrf.DefaultCrumbIssuer", "crumb": crumb,
                                      "crumbRequestField": "Jenkins-Crumb"})
        response.set_cookie("JSESSIONID.fake", session, path="/", httponly=True)
        return response

    def _build(self, path: str, query: dict[str, str], form: dict[str, str], request: web.Request
               ) -> web.StreamResponse:
        job, _ = self._job(path)
        if job is None:
            return web.Response(status=404, text="Not Found")
        if set(form) != set(DECLARED):
            self.violations.append(f"buildWithParameters: parameters {sorted(form)}, the job declares "
                                   f"{sorted(DECLARED)}")
        for item in self.queue.values():
            if item.job == job and item.params == form and item.build is None and not item.cancelled:
                return web.Response(status=303, headers={"Location": f"{self.url}/queue/item/{item.id}/"})
        item = QueueItem(next(self._ids), job, form, self._now_ms(), self.queue_polls, self.why)
        self.queue[item.id] = item
        if item.polls_left == 0:
            self.start_build(item)
        return web.Response(status=201, headers={"Location": f"{self.url}/queue/item/{item.id}/"})

    def start_build(self, item: QueueItem) -> None:
        number = max(self.builds[item.job], default=0) + 1
        result = self.results.pop(0) if self.results else "SUCCESS"
        item.build = Build(number, item.job, item.params, self._now_ms(), self.build_polls, result)
        self.builds[item.job][number] = item.build
        if item.build.polls_left == 0:
            item.build.result = result

    def _queue_item(self, path: str, query: dict[str, str], form: dict[str, str], request: web.Request
                    ) -> web.StreamResponse:
        item = self.queue.get(int(path.split("/")[3]))
        if item is None or (self.forget_left_items and (item.build or item.cancelled)):
            return web.Response(status=404, text="Not Found")
        if item.build is None and not item.cancelled:
            if item.polls_left > 0:
                item.polls_left -= 1
            else:
                self.start_build(item)
        return web.json_response(self._item_json(item))

    def _item_json(self, item: QueueItem) -> dict[str, Any]:
        task_url = f"{self.url}{item.job}/"
        body: dict[str, Any] = {
            "id": item.id, "url": f"queue/item/{item.id}/", "inQueueSince": item.since,
            "task": {"name": self.jobs[item.job].split("/")[-1], "url": task_url, "color": "blue"},
            "actions": [{"_class": "hudson.model.ParametersAction", "parameters": _param_list(item.params)},
                        {"_class": "hudson.model.CauseAction", "causes": [{"userId": self.user}]}],
            "params": "".join(f"\n{k}={v}" for k, v in item.params.items()),
            "blocked": False, "buildable": item.build is None, "stuck": False,
        }
        if item.build is None and not item.cancelled:
            body.update({"_class": "hudson.model.Queue$BuildableItem", "why": item.why})
        else:
            body.update({"_class": "hudson.model.Queue$LeftItem", "why": None, "cancelled": item.cancelled,
                         "executable": None if item.build is None else {
                             "_class": "org.jenkinsci.plugins.workflow.job.WorkflowRun",
                             "number": item.build.number, "url": self._build_url(item.build)}})
        return body

    def _queue(self, path: str, query: dict[str, str], form: dict[str, str], request: web.Request
               ) -> web.StreamResponse:
        waiting = [self._item_json(i) for i in self.queue.values() if i.build is None and not i.cancelled]
        return web.json_response({"_class": "hudson.model.Queue", "items": waiting})

    def _cancel_item(self, path: str, query: dict[str, str], form: dict[str, str], request: web.Request
                     ) -> web.StreamResponse:
        item = self.queue.get(int(query.get("id", "0") or 0))
        if item is None or item.build is not None:
            return web.Response(status=404, text="Not Found")
        item.cancelled = True
        return web.Response(status=302, headers={"Location": f"{self.url}/queue/"})

    def _job_info(self, path: str, query: dict[str, str], form: dict[str, str], request: web.Request
                  ) -> web.StreamResponse:
        job, _ = self._job(path)
        if job is None:
            return web.Response(status=404, text="Not Found")
        builds = sorted(self.builds[job].values(), key=lambda b: b.number, reverse=True)
        return web.json_response({"_class": "org.jenkinsci.plugins.workflow.job.WorkflowJob",
                                  "builds": [self._build_json(b) for b in builds]})

    def _build_info(self, path: str, query: dict[str, str], form: dict[str, str], request: web.Request
                    ) -> web.StreamResponse:
        job, rest = self._job(path)
        build = self.builds[job].get(int(rest.split("/")[1])) if job else None
        if build is None:
            return web.Response(status=404, text="Not Found")
        body = self._build_json(build)
        if build.building:  # it moves on as it is polled
            build.polls_left -= 1
            if build.polls_left <= 0:
                build.result = build.result_when_done
        return web.json_response(body)

    def _stop(self, path: str, query: dict[str, str], form: dict[str, str], request: web.Request
              ) -> web.StreamResponse:
        job, rest = self._job(path)
        build = self.builds[job].get(int(rest.split("/")[1])) if job else None
        if build is None:
            return web.Response(status=404, text="Not Found")
        if build.building:
            build.result = "ABORTED"
        return web.Response(status=302, headers={"Location": self._build_url(build)})

    def _build_json(self, build: Build) -> dict[str, Any]:
        return {"_class": "org.jenkinsci.plugins.workflow.job.WorkflowRun", "number": build.number,
                "url": self._build_url(build), "building": build.building, "result": build.result,
                "duration": 0 if build.building else 1000, "timestamp": build.timestamp,
                "actions": [{"_class": "hudson.model.ParametersAction", "parameters": _param_list(build.params)}]}

    def _build_url(self, build: Build) -> str:
        return f"{self.url}{build.job}/{build.number}/"

    def _now_ms(self) -> int:
        return int(self.clock().timestamp() * 1000)


def _param_list(params: dict[str, str]) -> list[dict[str, str]]:
    return [{"_class": "hudson.model.StringParameterValue", "name": k, "value": v} for k, v in params.items()]


def _kind(method: str, path: str) -> str | None:
    """Which documented endpoint a path is, or None."""
    if path == "/crumbIssuer/api/json":
        return "crumb"
    if path == "/queue/api/json":
        return "queue"
    if path == "/queue/cancelItem":
        return "cancel_item"
    if re.fullmatch(r"/queue/item/\d+/api/json", path):
        return "queue_item"
    match = _JOB.match(path)
    rest = match.group(2) or "" if match else None
    if rest == "/buildWithParameters":
        return "build"
    if rest == "/api/json":
        return "job_info"
    if rest is not None and re.fullmatch(r"/\d+/api/json", rest):
        return "build_info"
    if rest is not None and re.fullmatch(r"/\d+/stop", rest):
        return "stop"
    return None
