"""No provider secret ever reaches a log line, a Slack message or a ledger export (§9, §11).

Each provider kind runs the same story through the whole stack — signed Slack requests, the real
Bolt app, the release engine, the provider over the real wire to its contract-checking fake — on
simulated time: a release that meets a burst of 5xx (absorbed by retries), one whose pipeline
start is refused with 401 (the refusal's body echoing the credential the request carried), and
one whose provider is unreachable (a closed port on 127.0.0.1), which the thread must name.
Then everything that left Switchman is searched for every secret it held: each log record at
DEBUG (unscrubbed, with its extra fields; the Slack SDK and httpcore held at INFO, as
`configure_logging` holds them for SWITCHMAN_LOG_LEVEL=DEBUG), the structured JSON log, every Web
API call the fake Slack received (the threads among them), and `switchman export --format
jsonl|csv` run as users run it.

The kinds: GitHub Actions (a token; a GitHub App), GitLab (a token; a trigger token), and Jenkins
and Argo CD, each with GitHub or GitLab as the service's `ci:` provider. A kind joins with one
driver in `secret_drivers.py` and one entry in `DRIVERS`.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import socket
import sys
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from bot.providers.gitlab_api import validation_message
from bot.providers.http import ProviderHttp
from bot.release.models import ReleaseState
from bot.simulated_time import SimulatedTime
from bot.structured_log import LOUD_AT_DEBUG, REDACTED, JsonLineFormatter, quiet_loud_libraries, scrubber
from tests.contracts.slack_contract import SlackContract
from tests.providers.secret_drivers import (
    ArgoCDDeploy,
    GitHubDriver,
    GitLabDriver,
    JenkinsDeploy,
    ProviderDriver,
    WithCi,
)
from tests.release.scenario import Scenario, scenario

REQUESTER = "U0ALICE"
MIN_SECRET_FRAGMENT = 12  # shorter pieces (the tail line of a PEM body) could match by chance


DRIVERS: dict[str, Callable[[], ProviderDriver]] = {
    "github-token": lambda: GitHubDriver(app=False),
    "github-app": lambda: GitHubDriver(app=True),
    "gitlab-token": lambda: GitLabDriver(trigger=False),
    "gitlab-trigger-token": lambda: GitLabDriver(trigger=True),
    "jenkins-ci-github": lambda: WithCi(JenkinsDeploy(), GitHubDriver(app=False)),
    "jenkins-ci-gitlab": lambda: WithCi(JenkinsDeploy(), GitLabDriver(trigger=False)),
    "argocd-ci-github": lambda: WithCi(ArgoCDDeploy(), GitHubDriver(app=False)),
    "argocd-ci-gitlab": lambda: WithCi(ArgoCDDeploy(), GitLabDriver(trigger=False)),
}


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def story_config(driver: ProviderDriver) -> str:
    """`api` deploys through the fake; `web` through the same kind at a closed port (its CI still answers)."""
    ci_block = driver.ci_block()
    providers = {"up": driver.provider_block(None), "down": driver.provider_block(f"http://127.0.0.1:{closed_port()}"),
                 **({"ci": ci_block} if ci_block else {})}
    staging = ", ".join(["gates: [ci_green]", *(f"{k}: {v}" for k, v in driver.environment_keys().items())])
    lines = ["providers:", *(f"  {name}: {block}" for name, block in providers.items()), "services:"]
    for service, provider in (("api", "up"), ("web", "down")):
        ci = {"ci": "ci"} if ci_block else {"ci": "up"} if provider == "down" else {}
        keys = {"channel": '"#api-releases"', "provider": provider, **ci, **driver.service_keys()}
        lines += [f"  {service}:", *(f"    {k}: {v}" for k, v in keys.items()),
                  "    environments:", f"      staging: {{{staging}}}"]
    return "\n".join(lines) + "\n"


async def run_story(s: Scenario, driver: ProviderDriver) -> None:
    driver.server_errors()
    await s.command(REQUESTER, f"api {driver.green_ref()} to staging")
    survived = (await s.releases())[-1]
    assert survived.state == ReleaseState.SUCCEEDED, s.thread_text(survived)

    driver.refuse_next_start()
    await s.command(REQUESTER, f"api {driver.green_ref()} to staging")
    refused = (await s.releases())[-1]
    assert refused.state == ReleaseState.FAILED, s.thread_text(refused)
    assert driver.refusal() in s.thread_text(refused), s.thread_text(refused)

    await s.command(REQUESTER, f"web {driver.green_ref()} to staging")
    unreachable = (await s.releases())[-1]
    assert unreachable.service == "web" and unreachable.state == ReleaseState.FAILED
    assert f"{driver.system} could not be reached at http://127.0.0.1:" in s.thread_text(unreachable), \
        s.thread_text(unreachable)


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
    loud_levels = {name: logging.getLogger(name).level for name in LOUD_AT_DEBUG}
    quiet_loud_libraries(logging.DEBUG)  # what SWITCHMAN_LOG_LEVEL=DEBUG leaves of the libraries' own lines
    try:
        async with scenario(tmp_path, slack_contract, config=story_config(driver), time=time,
                            environ=driver.environ()) as s:
            await run_story(s, driver)
            slack_token = s.stack.api.token
            slack_calls = json.dumps([asdict(c) for c in s.stack.api.calls], default=str)
    finally:
        root.removeHandler(json_handler)
        for name, level in loud_levels.items():
            logging.getLogger(name).setLevel(level)
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


async def test_a_token_a_server_echoes_is_scrubbed_before_its_words_are_cut_short() -> None:
    """Were the words cut first, a token straddling the cut would leave a piece no scrubbing recognises."""
    secret = "plain-" + "EdgeCase" * 4  # no token shape: only its registration can hide it
    scrubber.register([secret])
    async with httpx.AsyncClient() as client:
        http = ProviderHttp(client, system="GitLab", base_url="http://127.0.0.1:9", headers={})
        for limit, words in ((200, lambda r: str(http.refused("start a pipeline", r))), (300, validation_message)):
            response = httpx.Response(400, json={"message": "x" * (limit - 10) + secret})
            assert secret[:8] not in words(response) and REDACTED in words(response)
