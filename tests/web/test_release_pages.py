"""The release page lists exactly the ledger's decisions of that release, in seq order, and says whether
the chain verifies — and says it does not once a row is edited or deleted behind Switchman's back. The
CSV and JSON-lines links give the same rows as `switchman export`; the chain page shows `audit verify` runs."""

from __future__ import annotations

import asyncio
import io
import json
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from sqlmodel import col, select

from bot.ledger.export import ExportFormat, export
from bot.ledger.models import Decision
from bot.ledger.service import record
from tests.contracts.slack_contract import SlackContract
from tests.web.test_log_access import enter
from tests.web.weblog_site import ALICE, OVERRIDE_REASON, OVERRIDER, RELEASE, THREAD, Site, get, weblog_site


@pytest.fixture
async def site(tmp_path: Path, slack_contract: SlackContract):  # type: ignore[no-untyped-def]
    async with weblog_site(tmp_path, slack_contract) as running:
        yield running


async def ledger_seqs(site: Site, release_id: int) -> list[int]:
    async with site.stack.ctx.db.session() as session:
        return list((await session.exec(select(Decision.seq).where(Decision.release_id == release_id)
                                        .order_by(col(Decision.seq)))).all())


def listed_seqs(body: str) -> list[int]:
    return [int(n) for n in re.findall(r'data-seq="(\d+)"', body)]


def tamper(site: Site, statement: str) -> None:
    with sqlite3.connect(site.database_url.removeprefix("sqlite:///")) as conn:
        conn.execute(statement)


async def test_the_release_page_lists_exactly_the_ledgers_decisions_in_order(site: Site) -> None:
    cookies = await enter(site, await site.link(ALICE))
    for release_id in (1, 2, 3, RELEASE, 40, 120):
        status, body, _ = await get(f"{site.base}/log/releases/{release_id}", cookies=cookies)
        assert status == 200
        expected = await ledger_seqs(site, release_id)
        assert expected and listed_seqs(body) == expected, release_id
        assert "The chain verifies for this release" in body
    _, body, _ = await get(f"{site.base}/log/releases/{RELEASE}", cookies=cookies)
    assert "Gate verdict</strong>: fail" in body and f'href="{site.evidence_url}"' in body
    assert "Approval</strong>: approved" in body
    assert "Override (special handling)</strong>: overridden" in body and OVERRIDE_REASON in body
    assert f"<code>ci_green</code> by {OVERRIDER}" in body
    assert f'<a href="{THREAD}">open the release thread in Slack</a>' in body


async def test_an_edited_row_makes_the_page_say_the_chain_does_not_verify(site: Site) -> None:
    cookies = await enter(site, await site.link(ALICE))
    seqs = await ledger_seqs(site, RELEASE)
    tamper(site, f"UPDATE decisions SET outcome = 'pass' WHERE seq = {seqs[-3]}")  # the failing gate verdict
    status, body, _ = await get(f"{site.base}/log/releases/{RELEASE}", cookies=cookies)
    assert status == 200 and "The chain does NOT verify for this release" in body
    assert f"seq {seqs[-3]}: its contents no longer match its hash" in body
    assert listed_seqs(body) == seqs


async def test_a_deleted_row_makes_the_page_say_the_chain_does_not_verify(site: Site) -> None:
    cookies = await enter(site, await site.link(ALICE))
    seqs = await ledger_seqs(site, RELEASE)
    tamper(site, f"DELETE FROM decisions WHERE seq = {seqs[-2]}")
    _, body, _ = await get(f"{site.base}/log/releases/{RELEASE}", cookies=cookies)
    assert "does NOT verify" in body and f"the row before it (seq {seqs[-2]}) is missing" in body
    assert listed_seqs(body) == [s for s in seqs if s != seqs[-2]]


async def test_filters_and_keyset_pages_show_every_matching_release_once(site: Site) -> None:
    cookies = await enter(site, await site.link(ALICE))
    seen: list[int] = []
    url: str | None = f"{site.base}/log/releases?service=api&environment=production"
    while url is not None:
        status, body, _ = await get(url, cookies=cookies)
        assert status == 200
        seen += [int(n) for n in re.findall(r'<a href="/log/releases/(\d+)">', body)]
        older = re.search(r'href="(/log/releases\?[^"]*before=\d+[^"]*)" rel="next"', body)
        url = site.base + older.group(1).replace("&amp;", "&") if older else None
    with sqlite3.connect(site.database_url.removeprefix("sqlite:///")) as conn:
        expected = [r[0] for r in conn.execute("SELECT id FROM releases WHERE service = 'api' AND "
                                               "environment = 'production' ORDER BY id DESC")]
    assert seen == expected and len(expected) > 20  # more than one page of 20
    with sqlite3.connect(site.database_url.removeprefix("sqlite:///")) as conn:
        in_range = [r[0] for r in conn.execute("SELECT id FROM releases WHERE created_at >= '2026-03-01' AND "
                                               "created_at < '2026-03-16' AND state = 'succeeded' ORDER BY id DESC")]
    _, body, _ = await get(f"{site.base}/log/releases?since=2026-03-01&until=2026-03-15&outcome=succeeded",
                           cookies=cookies)
    assert [int(n) for n in re.findall(r'<a href="/log/releases/(\d+)">', body)] == in_range and in_range
    _, body, _ = await get(f"{site.base}/log/releases?person={OVERRIDER}", cookies=cookies)
    assert f'<a href="/log/releases/{RELEASE}">' in body  # found through the override they decided


async def test_csv_and_json_lines_are_the_rows_switchman_export_writes(site: Site) -> None:
    cookies = await enter(site, await site.link(ALICE))
    async with site.stack.ctx.db.session() as session:
        expected_csv, expected_jsonl = io.StringIO(newline=""), io.StringIO()
        await export(session, expected_csv, fmt=ExportFormat.CSV, what=("releases",), service="api")
        await export(session, expected_jsonl, fmt=ExportFormat.JSONL, what=("releases",), service="api")
    status, body, response = await get(f"{site.base}/log/releases.csv?service=api", cookies=cookies)
    assert status == 200 and response.headers["Content-Type"].startswith("text/csv")
    assert body == expected_csv.getvalue()
    _, body, _ = await get(f"{site.base}/log/releases.jsonl?service=api", cookies=cookies)
    assert body == expected_jsonl.getvalue()
    _, body, _ = await get(f"{site.base}/log/releases/{RELEASE}/decisions.csv", cookies=cookies)
    lines = body.strip().splitlines()
    assert lines[0].startswith("seq,decided_at,kind") and len(lines) - 1 == len(await ledger_seqs(site, RELEASE))


async def test_the_chain_page_shows_each_audit_verify_run(site: Site) -> None:
    cookies = await enter(site, await site.link(ALICE))
    _, body, _ = await get(f"{site.base}/log/chain", cookies=cookies)
    assert "No run recorded yet" in body

    def audit() -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "bot.cli", "audit", "verify"], capture_output=True, text=True,
                              env={"SWITCHMAN_DATABASE_URL": site.database_url, "PATH": "/usr/bin:/bin"},
                              timeout=120, check=False)

    assert (await asyncio.to_thread(audit)).returncode == 0
    _, body, _ = await get(f"{site.base}/log/chain", cookies=cookies)
    assert "The ledger chain was intact" in body
    tamper(site, "UPDATE decisions SET actor = 'someone-else' WHERE seq = 5")
    assert (await asyncio.to_thread(audit)).returncode == 1
    _, body, _ = await get(f"{site.base}/log/chain", cookies=cookies)
    assert "The ledger chain was BROKEN" in body and "seq 5" in body
    _, body, _ = await get(f"{site.base}/log/chain/runs.jsonl", cookies=cookies)
    assert [json.loads(line)["ok"] for line in body.splitlines()] == [True, False]
    _, body, _ = await get(f"{site.base}/log/releases/{RELEASE}", cookies=cookies)
    assert "BROKEN" in body  # the release page shows the last whole-ledger run too


async def test_metrics_and_oncall_pages_render(site: Site) -> None:
    cookies = await enter(site, await site.link(ALICE))
    status, body, _ = await get(f"{site.base}/log/metrics?days=365", cookies=cookies)
    assert status == 200 and "Deployment frequency" in body and 'src="data:image/png;base64,' in body
    assert re.search(r'<img class="chart" [^>]*alt="Four charts of', body)
    status, body, _ = await get(f"{site.base}/log/oncall", cookies=cookies)
    assert status == 200 and "api-oncall" in body and "On call now" in body


async def test_a_page_shows_its_timeline_in_order(site: Site) -> None:
    cookies = await enter(site, await site.link(ALICE))
    delivery = await site.stack.slack.slash_command(ALICE, "/oncall", 'page api-oncall "checkout is down"',
                                                    channel="#api-oncall")
    assert delivery.status == 200
    await site.stack.settle()
    _, body, _ = await get(f"{site.base}/log/oncall", cookies=cookies)
    found = re.search(r'<a href="/log/oncall/pages/(\d+)">', body)
    assert found and "checkout is down" in body
    status, body, _ = await get(f"{site.base}/log/oncall/pages/{found.group(1)}", cookies=cookies)
    assert status == 200 and "checkout is down" in body
    times = re.findall(r'<time datetime="([^"]+)">', body)
    assert times == sorted(times) and len(times) >= 2
    assert f"opened by {ALICE}" in body and "Slack message to" in body
    status, body, _ = await get(f"{site.base}/log/oncall/pages.csv", cookies=cookies)
    header, row = body.strip().splitlines()
    assert status == 200 and header.startswith("id,rotation,source") and "checkout is down" in row


async def test_a_token_that_slipped_into_evidence_is_not_shown(site: Site) -> None:
    cookies = await enter(site, await site.link(ALICE))
    leaked = "xoxb-123456789012-abcdefABCDEF"
    async with site.stack.ctx.db.session() as session:
        await record(session, kind="gate_verdict", actor="gate:http", release_id=8, outcome="error",
                     decided_at=site.time.clock.now(), evidence={"evidence": f"401 with Authorization {leaked}"})
        await session.commit()
    _, body, _ = await get(f"{site.base}/log/releases/8", cookies=cookies)
    assert "Gate verdict</strong>: error" in body and leaked not in body and "[redacted]" in body
    assert site.stack.ctx.settings.bot_token not in body and "weblog-test-secret" not in body
