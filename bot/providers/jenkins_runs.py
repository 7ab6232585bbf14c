"""What Jenkins' queue items and builds mean for a release: run ids, states, details, and which build is whose.

A dispatch returns a queue item, not a build: Jenkins only numbers the build when an executor
takes it. So a Jenkins `PipelineRun.id` is `queue:<item id>` until the build is known, then the
build number. The queue's `why` ("Waiting for next available executor") is the run's detail while
it waits, and is carried into the build's detail so the stage result in the thread still says why
the stage took long. A build is matched to its release and stage by the `SWITCHMAN_*` parameters
it was started with.

Results (hudson.model.Result): SUCCESS succeeded; UNSTABLE is failed, because a deploy job marks
itself unstable when a post-deploy check (smoke tests) did not pass, and carrying on with the
canary over that is the wrong default; FAILURE failed; ABORTED cancelled (someone or something
stopped it); NOT_BUILT failed, since nothing was deployed and nobody chose that.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from bot.providers.base import DeployTarget, PipelineRun, RunState
from bot.providers.jenkins_api import as_dict

QUEUE_PREFIX = "queue:"
QUEUED_NOTE = " — waited in the Jenkins queue: "
BUILD_TREE = "number,url,building,result,duration,timestamp"
BUILDS_TREE = "builds[number,url,timestamp,building,result,actions[parameters[name,value]]]{0,50}"
QUEUE_TREE = "items[id,url,why,task[url],actions[parameters[name,value]]]"
CLOCK_SKEW = timedelta(seconds=60)
_QUEUE_LOCATION = re.compile(r"/queue/item/(\d+)/?$")

RESULTS: dict[str, tuple[RunState, str]] = {
    "SUCCESS": (RunState.SUCCEEDED, "succeeded"),
    "UNSTABLE": (RunState.FAILED, "finished unstable (a check in the job failed); Switchman treats it as failed"),
    "FAILURE": (RunState.FAILED, "failed"),
    "ABORTED": (RunState.CANCELLED, "was aborted"),
    "NOT_BUILT": (RunState.FAILED, "was not built (NOT_BUILT): Jenkins ran no deploy"),
}


def parameters(target: DeployTarget) -> dict[str, str]:
    """The form parameters of buildWithParameters; the job must declare each of them."""
    return {
        "SWITCHMAN_ENVIRONMENT": target.environment,
        "SWITCHMAN_STRATEGY": target.strategy,
        "SWITCHMAN_STAGE": str(target.stage),
        "SWITCHMAN_RELEASE_ID": str(target.release_id),
        "SWITCHMAN_ROLLBACK": "true" if target.rollback else "false",
        "SWITCHMAN_SHA": target.sha,
        "SWITCHMAN_REF": target.ref,
    }


def queue_id(location: str | None) -> int | None:
    """The item id in `Location: {root}/queue/item/{N}/`, or None when Jenkins sent somewhere else."""
    match = _QUEUE_LOCATION.search(location or "")
    return int(match.group(1)) if match else None


def queued_item(run_id: str) -> int | None:
    """The queue item id of a run id that is still `queue:N`; None for a build number."""
    return int(run_id[len(QUEUE_PREFIX):]) if run_id.startswith(QUEUE_PREFIX) else None


def carried_note(detail: str) -> str:
    """The queue-wait note a run's detail carries forward, if any."""
    at = detail.find(QUEUED_NOTE)
    if at >= 0:
        return detail[at:]
    waiting = "waiting in the Jenkins queue: "
    return QUEUED_NOTE + detail[len(waiting):] if detail.startswith(waiting) else ""


def waiting(item_id: int, why: Any, url: str | None) -> PipelineRun:
    reason = str(why).strip() if why else ""
    detail = f"waiting in the Jenkins queue: {reason}" if reason else "queued in Jenkins"
    return PipelineRun(f"{QUEUE_PREFIX}{item_id}", RunState.QUEUED, url, detail)


def build_run(build: Mapping[str, Any], *, note: str = "") -> PipelineRun:
    number = build.get("number")
    url = build.get("url") if isinstance(build.get("url"), str) else None
    result = build.get("result")
    if build.get("building") or result is None:
        return PipelineRun(str(number), RunState.RUNNING, url, f"build #{number} running{note}")
    state, words = RESULTS.get(str(result), (RunState.FAILED, f"ended {result}"))
    return PipelineRun(str(number), state, url, f"build #{number} {words}{note}")


def build_parameters(build: Mapping[str, Any]) -> dict[str, str]:
    found: dict[str, str] = {}
    for action in build.get("actions") or []:
        for parameter in as_dict(action).get("parameters") or []:
            parameter = as_dict(parameter)
            if isinstance(parameter.get("name"), str):
                found[parameter["name"]] = str(parameter.get("value"))
    return found


def is_for(params: Mapping[str, str], target: DeployTarget) -> bool:
    """Whether a build or queue item was started by Switchman for this release, stage and direction."""
    wanted = parameters(target)
    keys = ("SWITCHMAN_RELEASE_ID", "SWITCHMAN_STAGE", "SWITCHMAN_ENVIRONMENT", "SWITCHMAN_ROLLBACK")
    return all(params.get(k) == wanted[k] for k in keys)


def newest_build_for(builds: Iterable[Any], target: DeployTarget, since: datetime | None) -> dict[str, Any] | None:
    """The newest build of `target` started at or after `since` (less clock skew), by its parameters."""
    earliest = (since - CLOCK_SKEW).timestamp() * 1000 if since is not None else None
    matches = [b for b in map(as_dict, builds) if is_for(build_parameters(b), target)
               and isinstance(b.get("number"), int)
               and (earliest is None or float(b.get("timestamp") or 0) >= earliest)]
    return max(matches, key=lambda b: int(b["number"])) if matches else None


def queue_item_for(items: Iterable[Any], target: DeployTarget, job_url_path: str) -> dict[str, Any] | None:
    """A waiting queue item of this job for `target`, if one is in the queue."""
    for item in map(as_dict, items):
        task_url = str(as_dict(item.get("task")).get("url") or "")
        if task_url.rstrip("/").endswith(job_url_path) and is_for(build_parameters(item), target) \
                and isinstance(item.get("id"), int):
            return item
    return None
