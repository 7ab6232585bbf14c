"""Real Prometheus and Alertmanager servers (Debian packages) on loopback, for verification tests.

Each starts from a config the test writes, on a free port, with its data in a temporary
directory, and is stopped when the test ends. Readiness is polled with a deadline, never slept
for. On a developer machine without the binaries the tests skip with the reason; under `CI=true`
a missing binary fails the run instead (`.ci/run` installs both).
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support.postgres_server import skip_or_fail

PROMETHEUS = ("prometheus",)
ALERTMANAGER = ("prometheus-alertmanager", "alertmanager")  # Debian's name first


def binary(names: tuple[str, ...], package: str) -> str:
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    skip_or_fail(f"{names[0]} is not installed (Debian package `{package}`); `.ci/run` installs it")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Running:
    url: str
    process: asyncio.subprocess.Process
    log: Path


async def _wait_ready(url: str, process: asyncio.subprocess.Process, log: Path, within: float = 60) -> None:
    async with httpx.AsyncClient() as client, asyncio.timeout(within):
        while True:
            if process.returncode is not None:
                tail = (await asyncio.to_thread(log.read_text))[-3000:]
                raise RuntimeError(f"{url} exited with {process.returncode}:\n{tail}")
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(f"{url}/-/ready")).status_code == 200:
                    return
            await asyncio.sleep(0.1)  # polling a starting process, not waiting for a fixed time


@contextlib.asynccontextmanager
async def _serve(command: list[str], url: str, workdir: Path, name: str) -> AsyncIterator[Running]:
    log = workdir / f"{name}.log"
    out = await asyncio.to_thread(log.open, "wb")
    process = await asyncio.create_subprocess_exec(*command, stdout=out, stderr=asyncio.subprocess.STDOUT,
                                                   cwd=workdir)
    try:
        await _wait_ready(url, process, log)
        yield Running(url, process, log)
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), timeout=15)
            except TimeoutError:
                process.kill()
                await process.wait()
        out.close()


@contextlib.asynccontextmanager
async def prometheus(workdir: Path, *, targets: list[str], scrape_interval: str = "1s") -> AsyncIterator[Running]:
    """Prometheus scraping `targets` (host:port of /metrics endpoints) as job "api"."""
    exe = binary(PROMETHEUS, "prometheus")
    port = free_port()
    config = workdir / "prometheus.yml"
    config.write_text(
        f"global: {{scrape_interval: {scrape_interval}, evaluation_interval: {scrape_interval}}}\n"
        "scrape_configs:\n"
        "  - job_name: api\n"
        f"    static_configs: [{{targets: {targets!r}}}]\n".replace("'", '"'))
    command = [exe, f"--config.file={config}", f"--storage.tsdb.path={workdir / 'prometheus-data'}",
               f"--web.listen-address=127.0.0.1:{port}"]
    async with _serve(command, f"http://127.0.0.1:{port}", workdir, "prometheus") as running:
        yield running


@contextlib.asynccontextmanager
async def alertmanager(workdir: Path, *, webhook_url: str, bearer: str) -> AsyncIterator[Running]:
    """Alertmanager whose only receiver is Switchman's webhook, authenticated as §6 says."""
    config = (
        "route: {receiver: switchman, group_by: [alertname, service], group_wait: 0s, group_interval: 1s,\n"
        "        repeat_interval: 1h}\n"
        "receivers:\n"
        "  - name: switchman\n"
        "    webhook_configs:\n"
        f"      - url: \"{webhook_url}\"\n"
        "        send_resolved: true\n"
        f"        http_config: {{authorization: {{type: Bearer, credentials: \"{bearer}\"}}}}\n")
    async with alertmanager_with(workdir, config) as running:
        yield running


@contextlib.asynccontextmanager
async def alertmanager_with(workdir: Path, config_text: str) -> AsyncIterator[Running]:
    """Alertmanager running the configuration `config_text` (alertmanager.yml as a test writes it)."""
    exe = binary(ALERTMANAGER, "prometheus-alertmanager")
    port = free_port()
    config = workdir / "alertmanager.yml"
    config.write_text(config_text)
    command = [exe, f"--config.file={config}", f"--storage.path={workdir / 'alertmanager-data'}",
               f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="]
    async with _serve(command, f"http://127.0.0.1:{port}", workdir, "alertmanager") as running:
        yield running
