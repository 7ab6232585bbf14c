"""The web release log in a real browser (headless Chromium from Debian, driven by selenium) over a
generated history: filter, open a release, follow its evidence link, download the CSV and check the file.

Screenshots are saved as test artifacts under `$SWITCHMAN_TEST_ARTIFACTS` (default `tmp/artifacts/`);
docs/weblog-release.png in the README is one of them. Without Chromium the test skips with the reason;
under `CI=true` it fails instead.
"""

from __future__ import annotations

import asyncio
import io
import os
import time
from pathlib import Path
from typing import Any

from sqlmodel import col, select

from bot.ledger.export import ExportFormat, export
from bot.ledger.models import Decision
from tests.contracts.slack_contract import SlackContract
from tests.support.chromium import chromium, skip_or_fail_without_chromium
from tests.web.weblog_site import ALICE, OVERRIDE_REASON, OVERRIDER, RELEASE, weblog_site

ARTIFACTS = Path(os.environ.get("SWITCHMAN_TEST_ARTIFACTS") or Path(__file__).parents[2] / "tmp" / "artifacts")
WAIT = 20.0  # seconds a page or a download may take before the test fails
# What every page must have for screen readers and keyboards: one h1, a main landmark and a nav, a label for
# every form field, alt text on every image, and the language and viewport declared.
ACCESSIBILITY = """
const unlabelled = [...document.querySelectorAll('input, select, textarea')]
  .filter(f => !(f.id && document.querySelector(`label[for="${f.id}"]`)) && !f.getAttribute('aria-label'));
return {h1: document.querySelectorAll('h1').length, main: document.querySelectorAll('main').length,
        nav: document.querySelectorAll('nav[aria-label]').length, unlabelled: unlabelled.length,
        noAlt: [...document.images].filter(i => !i.getAttribute('alt')).length,
        lang: document.documentElement.lang,
        viewport: !!document.querySelector('meta[name=viewport]')};
"""


def _drive(link: str, base: str, evidence_url: str, downloads: Path, profile: Path, expected_csv: str,
           shots: Path) -> dict[str, Any]:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as until
    from selenium.webdriver.support.ui import WebDriverWait

    seen: dict[str, Any] = {}
    with chromium(profile, downloads) as browser:
        driver: Any = browser
        wait = WebDriverWait(driver, WAIT)
        driver.get(link)  # the /deploy log link: signs in, then lands on the release list
        wait.until(until.url_contains("/log/releases"))
        seen["heading"] = driver.find_element(By.TAG_NAME, "h1").text

        driver.find_element(By.ID, "f-person").send_keys(OVERRIDER)
        driver.find_element(By.CSS_SELECTOR, "form.filters button[type=submit]").click()
        wait.until(until.url_contains(f"person={OVERRIDER}"))
        seen["filtered"] = [a.text for a in driver.find_elements(By.CSS_SELECTOR, "tbody td:first-child a")]
        driver.save_screenshot(str(shots / "weblog-releases-filtered.png"))

        driver.find_element(By.LINK_TEXT, f"#{RELEASE}").click()
        wait.until(until.presence_of_element_located((By.ID, "chain-verdict")))
        seen["release_heading"] = driver.find_element(By.TAG_NAME, "h1").text
        seen["chain_verdict"] = driver.find_element(By.ID, "chain-verdict").text
        seen["decisions"] = [li.get_attribute("data-seq") for li in driver.find_elements(By.CSS_SELECTOR,
                                                                                         "ol.decisions > li")]
        seen["page_text"] = driver.find_element(By.TAG_NAME, "main").text
        driver.save_screenshot(str(shots / "weblog-release.png"))
        driver.set_window_size(390, 844)  # a phone
        driver.save_screenshot(str(shots / "weblog-release-phone.png"))
        seen["phone_overflow"] = driver.execute_script(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth")
        driver.set_window_size(1280, 1000)

        driver.find_element(By.CSS_SELECTOR, f'a.evidence-link[href="{evidence_url}"]').click()
        wait.until(until.url_to_be(evidence_url))
        seen["evidence"] = driver.find_element(By.TAG_NAME, "h1").text
        driver.back()
        wait.until(until.url_contains(f"/log/releases/{RELEASE}"))

        driver.get(f"{base}/log/releases?service=api")
        driver.find_element(By.LINK_TEXT, "CSV").click()
        target = downloads / "releases.csv"
        deadline = time.monotonic() + WAIT
        while not target.exists() and time.monotonic() < deadline:
            time.sleep(0.05)  # polling for the browser's download, bounded by the deadline
        seen["csv"] = target.read_bytes().decode("utf-8") if target.exists() else None

        seen["accessibility"] = {}
        for name in ("metrics", "oncall", "chain", "releases", f"releases/{RELEASE}"):
            driver.get(f"{base}/log/{name}")
            seen[f"{name}_heading"] = driver.find_element(By.TAG_NAME, "h1").text
            seen["accessibility"][name] = driver.execute_script(ACCESSIBILITY)
            driver.save_screenshot(str(shots / f"weblog-{name.replace('/', '-')}.png"))
    seen["expected_csv"] = expected_csv
    return seen


async def test_an_auditor_filters_opens_a_release_follows_its_evidence_and_downloads_csv(
        tmp_path: Path, slack_contract: SlackContract) -> None:
    skip_or_fail_without_chromium()
    await asyncio.to_thread(ARTIFACTS.mkdir, parents=True, exist_ok=True)
    async with weblog_site(tmp_path, slack_contract) as site:
        async with site.stack.ctx.db.session() as session:
            expected = io.StringIO(newline="")
            await export(session, expected, fmt=ExportFormat.CSV, what=("releases",), service="api")
        downloads, profile = tmp_path / "downloads", tmp_path / "profile"
        await asyncio.to_thread(downloads.mkdir)
        seen = await asyncio.to_thread(_drive, await site.link(ALICE), site.base, site.evidence_url, downloads,
                                       profile, expected.getvalue(), ARTIFACTS)
        async with site.stack.ctx.db.session() as session:
            seqs = [str(s) for s in (await session.exec(select(Decision.seq).where(Decision.release_id == RELEASE)
                                                        .order_by(col(Decision.seq)))).all()]
    assert seen["heading"] == "Releases"
    assert f"#{RELEASE}" in seen["filtered"]
    assert seen["release_heading"] == f"Release #{RELEASE}"
    assert seen["chain_verdict"].startswith("The chain verifies for this release")
    assert seen["decisions"] == seqs
    assert OVERRIDE_REASON in seen["page_text"]
    assert seen["phone_overflow"] <= 0, "the release page scrolls sideways on a phone"
    assert seen["evidence"] == f"CI run {RELEASE}: all checks passed"
    assert seen["csv"] is not None, "the CSV download did not arrive"
    assert seen["csv"] == seen["expected_csv"]
    headings = (seen["metrics_heading"], seen["oncall_heading"], seen["chain_heading"])
    assert headings == ("Delivery metrics", "On-call", "Ledger chain")
    for name, found in seen["accessibility"].items():
        assert found == {"h1": 1, "main": 1, "nav": found["nav"], "unlabelled": 0, "noAlt": 0, "lang": "en",
                         "viewport": True}, name
        assert found["nav"] >= 1, name
    for shot in ("weblog-releases-filtered", "weblog-release", "weblog-release-phone", "weblog-metrics"):
        assert (await asyncio.to_thread((ARTIFACTS / f"{shot}.png").stat)).st_size > 1000
