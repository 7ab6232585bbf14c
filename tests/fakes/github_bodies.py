"""Response bodies for the fake GitHub, each built from the contract's own example and then customised.

Starting from `components/examples` keeps every field the real API sends (and the schema requires);
the builders only overwrite what a test scripts.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tests.contracts.github_contract import GitHubContract


def iso(instant: datetime) -> str:
    return instant.strftime("%Y-%m-%dT%H:%M:%SZ")


class Bodies:
    def __init__(self, contract: GitHubContract, base_url: str, repo: str) -> None:
        self.repo = repo
        self.contract = contract
        self.base_url = base_url  # where the fake listens; used for the API urls in bodies

    def check_run(self, *, id: int, sha: str, name: str, status: str, conclusion: str | None,
                  at: datetime) -> dict[str, Any]:
        body: dict[str, Any] = self.contract.example("check-run-paginated")["check_runs"][0]
        body.update(id=id, head_sha=sha, name=name, status=status, conclusion=conclusion,
                    started_at=iso(at), completed_at=iso(at) if status == "completed" else None,
                    html_url=f"{self.base_url}/{self.repo}/runs/{id}",
                    url=f"{self.base_url}/repos/{self.repo}/check-runs/{id}")
        return body

    def commit_status(self, *, id: int, context: str, state: str, at: datetime) -> dict[str, Any]:
        body: dict[str, Any] = self.contract.example("combined-commit-status")["statuses"][0]
        body.update(id=id, context=context, state=state, created_at=iso(at), updated_at=iso(at),
                    target_url=f"{self.base_url}/ci/{context}/{id}")
        return body

    def combined_status(self, *, sha: str, statuses: list[dict[str, Any]]) -> dict[str, Any]:
        body: dict[str, Any] = self.contract.example("combined-commit-status")
        states = {s["state"] for s in statuses}
        state = "failure" if states & {"failure", "error"} else "pending" if states - {"success"} or not statuses \
            else "success"
        body.update(sha=sha, state=state, statuses=statuses, total_count=len(statuses),
                    commit_url=f"{self.base_url}/repos/{self.repo}/commits/{sha}",
                    url=f"{self.base_url}/repos/{self.repo}/commits/{sha}/status")
        return body

    def comparison(self, *, base: str, head: str, commits: list[tuple[str, str, str | None, str]],
                   files: list[str], committed: list[str] | None = None,
                   emails: list[str] | None = None) -> dict[str, Any]:
        """`commits` are (sha, message, author login or None, git author name), oldest first;
        `committed`, when given, their committer dates (ISO 8601), the author dates staying the example's;
        `emails`, when given, their git author emails (`commit.author.email`)."""
        body: dict[str, Any] = self.contract.example("commit-comparison")
        template = body["commits"][0]
        listed = []
        for i, (sha, message, login, name) in enumerate(commits):
            commit = self.contract.example("commit-comparison")["commits"][0]
            commit.update(sha=sha, html_url=f"{self.base_url}/{self.repo}/commit/{sha}")
            commit["commit"]["message"] = message
            commit["commit"]["author"]["name"] = name
            if emails is not None:
                commit["commit"]["author"]["email"] = emails[i]
            if committed is not None:
                commit["commit"]["committer"]["date"] = committed[i]
            commit["author"] = None if login is None else {**template["author"], "login": login}
            listed.append(commit)
        file_template = body["files"][0]
        body.update(status="ahead", ahead_by=len(commits), behind_by=0, total_commits=len(commits),
                    commits=listed, files=[{**file_template, "filename": f} for f in files],
                    html_url=f"{self.base_url}/{self.repo}/compare/{base}...{head}")
        body["base_commit"]["sha"] = base
        return body

    def comparison_behind(self, *, base: str, head: str, behind_by: int) -> dict[str, Any]:
        """`head` is an ancestor of `base`: nothing in head that base lacks."""
        body = self.comparison(base=base, head=head, commits=[], files=[])
        body.update(status="behind", ahead_by=0, behind_by=behind_by, total_commits=0)
        return body

    def workflow_run(self, *, id: int, workflow: str, title: str, branch: str, sha: str, event: str,
                     status: str, conclusion: str | None, created: datetime) -> dict[str, Any]:
        body: dict[str, Any] = self.contract.example("workflow-run")
        body.update(id=id, name="Deploy", display_title=title, head_branch=branch, head_sha=sha, event=event,
                    status=status, conclusion=conclusion, path=f".github/workflows/{workflow}@{branch}",
                    url=f"{self.base_url}/repos/{self.repo}/actions/runs/{id}",
                    html_url=f"{self.base_url}/{self.repo}/actions/runs/{id}",
                    created_at=iso(created), updated_at=iso(created), run_started_at=iso(created))
        return body

    def job(self, *, id: int, run_id: int, name: str, conclusion: str | None, at: datetime) -> dict[str, Any]:
        body: dict[str, Any] = self.contract.example("job-paginated")["jobs"][0]
        # The upstream example lacks created_at, which the job schema requires (ci_endpoints.md).
        body.update(id=id, run_id=run_id, name=name, conclusion=conclusion, created_at=iso(at),
                    status="completed" if conclusion else "in_progress")
        return body

    def deployment(self, *, id: int, request: dict[str, Any], at: datetime) -> dict[str, Any]:
        body: dict[str, Any] = self.contract.example("deployment")
        body.update(id=id, sha=request["ref"], ref=request["ref"], task=request.get("task", "deploy"),
                    payload=request.get("payload", {}), environment=request.get("environment", "production"),
                    original_environment=request.get("environment", "production"),
                    description=request.get("description"), created_at=iso(at), updated_at=iso(at),
                    transient_environment=request.get("transient_environment", False),
                    production_environment=request.get("production_environment", False),
                    url=f"{self.base_url}/repos/{self.repo}/deployments/{id}",
                    statuses_url=f"{self.base_url}/repos/{self.repo}/deployments/{id}/statuses")
        return body

    def deployment_status(self, *, id: int, deployment_id: int, request: dict[str, Any],
                          at: datetime) -> dict[str, Any]:
        body: dict[str, Any] = self.contract.example("deployment-status")
        body.update(id=id, state=request["state"], description=request.get("description", ""),
                    environment=request.get("environment", body["environment"]),
                    log_url=request.get("log_url", ""), target_url=request.get("log_url", ""),
                    created_at=iso(at), updated_at=iso(at),
                    deployment_url=f"{self.base_url}/repos/{self.repo}/deployments/{deployment_id}")
        return body

    @staticmethod
    def error(message: str) -> dict[str, Any]:
        return {"message": message, "documentation_url": "https://docs.github.com/rest"}
