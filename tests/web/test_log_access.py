"""Who gets into `/log/`: a `/deploy log` link opens a session for that Slack user; an expired link,
another user's link with its signature altered, a forged proxy header from an address not configured,
and a plain request are all refused with a page that says how to get in — and gives nothing away."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from ipaddress import ip_network
from pathlib import Path

import pytest
from sqlmodel import col, select

from bot.config.web_log import WebLog
from bot.web.log_access import COOKIE, LogSecretMissing, Refusal, Via, Viewer, from_proxy, load_secret
from bot.web.log_models import WebLogView
from tests.contracts.slack_contract import SlackContract
from tests.web.weblog_site import ALICE, BOB, SECRET, Site, get, weblog_site


@pytest.fixture
async def site(tmp_path: Path, slack_contract: SlackContract):  # type: ignore[no-untyped-def]
    async with weblog_site(tmp_path, slack_contract) as running:
        yield running


async def views(site: Site) -> list[WebLogView]:
    async with site.stack.ctx.db.session() as session:
        return list((await session.exec(select(WebLogView).order_by(col(WebLogView.id)))).all())


def assert_nothing_leaked(body: str) -> None:
    assert SECRET not in body
    assert "<table" not in body and 'href="/log/releases/' not in body  # no release data on a refusal page
    assert "/deploy log" in body  # …but it says how to get in


async def enter(site: Site, link: str) -> dict[str, str]:
    status, _, response = await get(link)
    assert status == 303 and response.headers["Location"] == "/log/releases"
    morsel = response.cookies[COOKIE]
    assert morsel["httponly"] and morsel["samesite"] == "Lax" and morsel["path"] == "/log/"
    return {COOKIE: morsel.value}


async def test_a_link_from_deploy_log_opens_a_session_for_that_user_and_every_view_is_recorded(site: Site) -> None:
    link = await site.link(ALICE)
    cookies = await enter(site, link)
    status, body, response = await get(f"{site.base}/log/releases", cookies=cookies)
    assert status == 200 and "Releases" in body and f"Signed in as <strong>{ALICE}</strong>" in body
    assert response.headers["Cache-Control"] == "private, no-store"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert SECRET not in body and link.split("t=")[1] not in body
    recorded = await views(site)
    assert [(v.viewer, v.via, v.path, v.status) for v in recorded] == [
        (ALICE, "link", "/log/enter", 303), (ALICE, "session", "/log/releases", 200)]


async def test_a_plain_request_is_refused_with_401(site: Site) -> None:
    for path in ("/log/", "/log/releases", "/log/releases/7", "/log/releases.csv", "/log/chain", "/log/oncall"):
        status, body, _ = await get(site.base + path)
        assert status == 401, path
        assert_nothing_leaked(body)
    assert {(v.viewer, v.via, v.status) for v in await views(site)} == {("", "none", 401)}
    status, _, response = await get(f"{site.base}/log")
    assert status == 303 and response.headers["Location"] == "/log/releases"  # and there: 401


async def test_an_expired_link_is_refused_with_403(site: Site) -> None:
    link = await site.link(ALICE)
    await site.time.advance(timedelta(minutes=15))  # web_log.link_expires defaults to 15m
    status, body, response = await get(link)
    assert status == 403 and "expired" in body and COOKIE not in response.cookies
    assert_nothing_leaked(body)


async def test_an_expired_session_is_refused(site: Site) -> None:
    cookies = await enter(site, await site.link(ALICE))
    await site.time.advance(timedelta(hours=8))  # session_expires defaults to 8h
    status, body, _ = await get(f"{site.base}/log/releases", cookies=cookies)
    assert status == 401 and "expired" in body
    assert_nothing_leaked(body)


def _with_user(token: str, user: str) -> str:
    version, payload, signature = token.split(".")
    body = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    body["u"] = user
    forged = base64.urlsafe_b64encode(json.dumps(body, separators=(",", ":")).encode()).rstrip(b"=").decode()
    return f"{version}.{forged}.{signature}"


async def test_another_users_link_with_an_altered_signature_is_refused(site: Site) -> None:
    link = await site.link(BOB)
    prefix, token = link.split("t=")
    as_alice = _with_user(token, ALICE)  # Bob's link, rewritten to sign in as Alice
    flipped = as_alice[:-2] + ("A" if as_alice[-2] != "A" else "B") + as_alice[-1]  # …and its signature changed
    for forged in (as_alice, flipped, token[:-3] + "xyz"):
        status, body, response = await get(f"{prefix}t={forged}")
        assert status == 403 and "altered" in body and COOKIE not in response.cookies
        assert_nothing_leaked(body)
    # A session cookie is checked the same way: Bob's, rewritten to Alice, is refused.
    cookies = await enter(site, link)
    status, body, _ = await get(f"{site.base}/log/releases", cookies={COOKIE: _with_user(cookies[COOKIE], ALICE)})
    assert status == 401 and ALICE not in body
    assert ALICE not in {v.viewer for v in await views(site)}


async def test_a_proxy_header_from_an_address_not_configured_is_refused(site: Site) -> None:
    # The test client connects from 127.0.0.1; only 10.9.0.0/16 is a trusted proxy.
    for header in ("X-Forwarded-Email", "X-Forwarded-User"):
        status, body, _ = await get(f"{site.base}/log/releases", headers={header: "auditor@example.com"})
        assert status == 403 and "not a trusted proxy" in body
        assert_nothing_leaked(body)
    # A valid session does not make a forged header acceptable.
    cookies = await enter(site, await site.link(ALICE))
    status, _, _ = await get(f"{site.base}/log/releases", cookies=cookies, headers={"X-Forwarded-User": "mallory"})
    assert status == 403
    assert "auditor@example.com" not in {v.viewer for v in await views(site)}


async def test_nothing_can_change_state_only_get_and_head_are_served(site: Site) -> None:
    cookies = await enter(site, await site.link(ALICE))
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        status, _, _ = await get(f"{site.base}/log/releases", cookies=cookies, method=method)
        assert status == 405, method
    status, body, _ = await get(f"{site.base}/log/releases", cookies=cookies, method="HEAD")
    assert status == 200 and body == ""


async def test_bad_filters_are_answered_with_what_was_wrong(site: Site) -> None:
    cookies = await enter(site, await site.link(ALICE))
    status, body, _ = await get(f"{site.base}/log/releases?since=yesterday", cookies=cookies)
    assert status == 400 and "YYYY-MM-DD" in body
    status, body, _ = await get(f"{site.base}/log/releases?outcome=exploded", cookies=cookies)
    assert status == 400 and "succeeded" in body
    status, body, _ = await get(f"{site.base}/log/releases/99999", cookies=cookies)
    assert status == 404


def test_a_trusted_proxy_is_believed_and_only_from_its_networks() -> None:
    config = WebLog(trusted_proxies=[ip_network("10.9.0.0/16")])
    headers = {"X-Forwarded-Email": "auditor@example.com"}
    assert from_proxy(config, headers, "10.9.4.2") == Viewer("auditor@example.com", Via.PROXY)
    refused = from_proxy(config, headers, "10.10.0.1")
    assert isinstance(refused, Refusal) and refused.status == 403
    assert from_proxy(config, {}, "10.9.4.2") is None
    assert isinstance(from_proxy(WebLog(), headers, "10.9.4.2"), Refusal)  # no proxies configured: nobody


def test_the_secret_must_be_set_and_long_enough(tmp_path: Path) -> None:
    with pytest.raises(LogSecretMissing, match="SWITCHMAN_WEB_LOG_SECRET"):
        load_secret(WebLog(), {})
    with pytest.raises(LogSecretMissing, match="too short"):
        load_secret(WebLog(), {"SWITCHMAN_WEB_LOG_SECRET": "short-secret"})
    secret_file = tmp_path / "secret"
    secret_file.write_text("f" * 64 + "\n")
    assert load_secret(WebLog(secret_file=str(secret_file)), {}) == b"f" * 64
