"""`web_log:` in switchman.yml: validated with the file's line and key, and summarised by check-config."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.config.loader import load_config
from bot.errors import ConfigError
from bot.settings import EXAMPLE_CONFIG


@pytest.mark.parametrize(("section", "message"), [
    ("web_log:\n  link_expires: 600\n", "web_log.link_expires"),
    ("web_log:\n  session_expires: 90d\n", "between 1m and 30d"),
    ("web_log:\n  trusted_proxies: [not-a-network]\n", "web_log.trusted_proxies"),
    ("web_log:\n  proxy_headers: ['X Forwarded']\n", "web_log.proxy_headers"),
    ("web_log:\n  secret: hunter2hunter2\n", "web_log.secret"),
    ("web_log:\n  page_size: 5\n", "web_log.page_size"),
])
def test_bad_web_log_keys_are_refused_with_their_line(tmp_path: Path, section: str, message: str) -> None:
    path = tmp_path / "switchman.yml"
    path.write_text(EXAMPLE_CONFIG.read_text() + "\n" + section)
    with pytest.raises(ConfigError) as refused:
        load_config(path)
    text = "\n".join(str(p) for p in refused.value.problems)
    assert message in text and f"{path}:" in text


def test_check_config_says_how_the_web_log_is_reached(tmp_path: Path) -> None:
    path = tmp_path / "switchman.yml"
    path.write_text(EXAMPLE_CONFIG.read_text() + "\nweb_log:\n  trusted_proxies: [10.9.0.0/16]\n  link_expires: 1h\n")
    done = subprocess.run([sys.executable, "-m", "bot.cli", "check-config", str(path)], capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert ("web log /log/: /deploy log links signed with $SWITCHMAN_WEB_LOG_SECRET, valid 1h, sessions 8h; "
            "trusts 10.9.0.0/16 as SSO proxies (X-Forwarded-Email, X-Forwarded-User)") in done.stdout
