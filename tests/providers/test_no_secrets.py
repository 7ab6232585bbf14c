"""No provider secret ever reaches a log line, a Slack message or a ledger export (§9, §11).

Each provider kind runs the same story through the whole stack — signed Slack requests, the real
Bolt app, the release engine, the provider over the real wire to its contract-checking fake — on
simulated time: a release that meets a burst of 5xx (absorbed by retries), one whose pipeline
start is refused with 401, and one whose provider is unreachable (a closed port on 127.0.0.1).
Then everything that left Switchman is searched for every secret it held: each log record at
DEBUG (unscrubbed, with its extra fields), the structured JSON log, every Web API call the fake
Slack received, and `switchman export --format jsonl|csv` run as users run it.

A provider kind joins with one `ProviderDriver` implementation and one entry in `DRIVERS`.
"""

from __future__ import annotations

import asyncio
import io
import itertools
import json
import logging
import os
import socket
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

import pytest

from bot.release.models import ReleaseState
from bot.simulated_time import SimulatedTime
from bot.structured_log import JsonLineFormatter
from tests.contracts.github_contract import GitHubContract
from tests.contracts.slack_contract import SlackContract
from tests.fakes.github_app_auth import OPERATION_ID, new_app_key
from tests.fakes.github_server import FakeGitHub
from tests.release.scenario import Scenario, scenario

REQUESTER = "U0ALICE"
MIN_SECRET_FRAGMENT = 12  # shorter pieces (the tail line of a PEM body) could match by chance


class ProviderDriver(Protocol):
    """One provider kind as the no-secret story drives it: its fake, its config and its secrets."""

    system: str  # how thread messages name the system ("GitHub")

    async def start(self, time: SimulatedTime) -> None: ...

    async def stop(self) -> list[str]:
        """Stop the fake; return the contract violations it saw."""
        ...

    def provider_block(self, url: str | None) -> str:
        """The provider's YAML mapping (`{kind: ..., ...}`) at `url`, or at the fake when None."""
        ...

    def service_keys(self) -> dict[str, str]:
        """What a service deploying through this provider names (repo and workflow, job, application)."""
        ...

    def environ(self) -> dict[str, str]: ...

    def green_ref(self) -> str:
        """A new ref whose CI is green, for the next release."""
        ...

    def server_errors(self) -> None:
        """A burst of 5xx that the retries (one per request here) absorb."""
        ...

    def refuse_next_start(self) -> None:
        """The provider answers the next start of a pipeline with 401 (even after a credential renewal)."""
        ...

    def secrets(self) -> list[str]:
        """Every credential Switchman held or sent, known after the run (tokens issued on the way included)."""
        ...


@dataclass
class GitHubDriver:
    """GitHub Actions with a personal token, or as a GitHub App installation (`app=True`)."""

    app: bool
    system: str = "GitHub"
    token: str = "ghp_" + "N0Secret" * 4 + "abcd"
    app_id: int = 424242
    installation_id: int = 5150
    key_env: str = "SWITCHMAN_GH_APP_KEY"
    fake: FakeGitHub | None = None
    pem: str = ""
    _refs: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def github(self) -> FakeGitHub:
        assert self.fake is not None, "start() first"
        return self.fake

    async def start(self, time: SimulatedTime) -> None:
        self.fake = await FakeGitHub(GitHubContract.load(), clock=time.now,
                                     token=None if self.app else self.token).start()
        self.fake.runs_advance_when_polled = True
        if self.app:
            self.pem, public_key = new_app_key()
            self.fake.enable_app(self.app_id, self.installation_id, public_key)

    async def stop(self) -> list[str]:
        await self.github.stop()
        return self.github.violations

    def provider_block(self, url: str | None) -> str:
        auth = (f"app_id: {self.app_id}, installation_id: {self.installation_id}, private_key_env: {self.key_env}"
                if self.app else "token_env: SWITCHMAN_GH_TOKEN")
        return f'{{kind: github_actions, api_url: "{url or self.github.url}", {auth}, retries: 1, timeout: 5s}}'

    def service_keys(self) -> dict[str, str]:
        return {"repo": "acme/api", "workflow": "deploy.yml"}

    def environ(self) -> dict[str, str]:
        return {self.key_env: self.pem} if self.app else {"SWITCHMAN_GH_TOKEN": self.token}

    def green_ref(self) -> str:
        n = next(self._refs)
        sha = self.github.add_ref(f"v1.{n}.0", f"{n:02x}" * 20)
        self.github.add_check_run(sha, "build")
        return f"v1.{n}.0"

    def server_errors(self) -> None:
        self.github.inject(500, operation_id="checks/list-for-ref", times=1)
        self.github.inject(502, operation_id="actions/get-workflow-run", times=1)
        if self.app:
            self.github.inject(503, operation_id=OPERATION_ID, times=1)  # the first token exchange, too

    def refuse_next_start(self) -> None:
        if self.github.app is not None:
            self.github.app.revoke()  # the next call is refused, renews the token, and goes through
        self.github.inject(401, operation_id="actions/create-workflow-dispatch", times=2 if self.app else 1,
                           message="Bad credentials")

    def secrets(self) -> list[str]:
        found = [self.token] if not self.app else []
        if self.app:
            assert self.github.app is not None
            found += self.pem.strip().splitlines()[1:-1]  # every line of the key body
            found += list(self.github.app.tokens)
            found += [r.headers["Authorization"].removeprefix("Bearer ") for r in self.github.calls(OPERATION_ID)]
            assert self.github.app.tokens and self.github.calls(OPERATION_ID), "the app never authenticated"
        return found


DRIVERS: dict[str, Callable[[], ProviderDriver]] = {
    "github-token": lambda: GitHubDriver(app=False),
    "github-app": lambda: GitHubDriver(app=True),
}


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def story_config(driver: ProviderDriver) -> str:
    keys = "".join(f"\n    {k}: {v}" for k, v in driver.service_keys().items())
    return f"""
providers:
  up: {driver.provider_block(None)}
  down: {driver.provider_block(f"http://127.0.0.1:{closed_port()}")}
services:
  api:
    channel: "#api-releases"
    provider: up{keys}
    environments:
      staging: {{gates: [ci_green]}}
  web:
    channel: "#api-releases"
    provider: down
    ci: up{keys}
    environments:
      staging: {{gates: [ci_green]}}
"""


async def run_story(s: Scenario, driver: ProviderDriver) -> None:
    driver.server_errors()
    await s.command(REQUESTER, f"api {driver.green_ref()} to staging")
    survived = (await s.releases())[-1]
    assert survived.state == ReleaseState.SUCCEEDED, s.thread_text(survived)

    driver.refuse_next_start()
    await s.command(REQUESTER, f"api {driver.green_ref()} to staging")
    refused = (await s.releases())[-1]
    assert refused.state == ReleaseState.FAILED
    assert f"{driver.system} refused to start" in s.thread_text(refused)

    await s.command(REQUESTER, f"web {driver.green_ref()} to staging")
    unreachable = (await s.releases())[-1]
    assert unreachable.service == "web" and unreachable.state == ReleaseState.FAILED
    assert f"{driver.system} could not be reached at http://127.0.0.1:" in s.thread_text(unreachable)


async def switchman_export(database_url: str, fmt: str, cwd: Path) -> str:
    """`switchman export --format fmt` in its own process, as an operator runs it; stdout and stderr."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHMAN_")}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "export", "--format", fmt, cwd=cwd,
        env={**env, "SWITCHMAN_DATABASE_URL": database_url}, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode == 0, err.decode()
    return out.decode() + err.decode()


def record_text(record: logging.LogRecord) -> str:
    """All of a log record: message, arguments, extra fields and traceback, before any scrubbing."""
    fields = {k: v for k, v in vars(record).items() if k not in ("exc_info", "args")}
    text = record.getMessage() + json.dumps(fields, default=str) + repr(record.args)
    if record.exc_info:
        text += logging.Formatter().formatException(record.exc_info)
    return text


@pytest.mark.parametrize("make_driver", DRIVERS.values(), ids=DRIVERS.keys())
async def test_no_secret_reaches_logs_slack_or_exports(make_driver: Callable[[], ProviderDriver], tmp_path: Path,
                                                       slack_contract: SlackContract,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    driver = make_driver()
    time = SimulatedTime(datetime(2026, 11, 18, 10, 0, tzinfo=UTC))  # a Wednesday
    await driver.start(time)
    structured = io.StringIO()
    json_handler = logging.StreamHandler(structured)
    json_handler.setFormatter(JsonLineFormatter())
    root = logging.getLogger()
    root.addHandler(json_handler)
    caplog.set_level(logging.DEBUG)
    try:
        async with scenario(tmp_path, slack_contract, config=story_config(driver), time=time,
                            environ=driver.environ()) as s:
            await run_story(s, driver)
            slack_token = s.stack.api.token
            slack_calls = json.dumps([asdict(c) for c in s.stack.api.calls], default=str)
    finally:
        root.removeHandler(json_handler)
        violations = await driver.stop()
    assert violations == [], f"calls the provider would have rejected: {violations}"

    database_url = f"sqlite:///{tmp_path / 'switchman.db'}"
    exports = {fmt: await switchman_export(database_url, fmt, tmp_path) for fmt in ("jsonl", "csv")}
    assert all(exports.values()), "the ledger was empty"
    places = {"log records": "\n".join(record_text(r) for r in caplog.records),
              "structured log": structured.getvalue(), "Slack Web API calls": slack_calls,
              **{f"export --format {fmt}": text for fmt, text in exports.items()}}
    assert len(caplog.records) > 20 and structured.getvalue() and "chat.postMessage" in slack_calls

    secrets = [v for v in [*driver.secrets(), slack_token] if len(v) >= MIN_SECRET_FRAGMENT]
    leaks = [(where, secret[:6] + "…") for where, text in places.items() for secret in secrets if secret in text]
    assert leaks == [], f"secrets found in {leaks}"
