"""Headless Chromium from Debian (`chromium`, `chromium-driver`) driven by selenium, for the browser tests.

Each browser gets a fresh profile directory and a download directory, no network beyond what the page
asks for, and no background services. Without the binaries the tests skip with the reason; under
`CI=true` they fail instead (`.ci/run` installs both).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.postgres_server import is_ci

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
         "--window-size=1280,1000")


def missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if shutil.which(path) is None:
            return f"{path} is not installed (Debian package `{package}`); `.ci/run` installs it"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (the dev extra: pip install -e '.[dev]')"
    return None


def skip_or_fail_without_chromium() -> None:
    import pytest

    reason = missing()
    if reason is None:
        return
    if is_ci():
        pytest.fail(f"headless Chromium is required on CI (CI=true) but unavailable: {reason}", pytrace=False)
    pytest.skip(f"headless Chromium unavailable: {reason}")


@contextmanager
def chromium(profile: Path, downloads: Path, *, width: int = 1280, height: int = 1000) -> Iterator[object]:
    """A selenium WebDriver (typed loosely: selenium is a dev-only dependency)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.add_argument(f"--window-size={width},{height}")
    options.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                              "download.prompt_for_download": False})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        driver.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
        yield driver
    finally:
        driver.quit()
