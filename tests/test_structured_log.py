"""Logs are one JSON object per line and never carry a secret."""

from __future__ import annotations

import io
import json
import logging

from bot.settings import Settings
from bot.structured_log import LOUD_AT_DEBUG, REDACTED, configure_logging, scrubber


def capture() -> io.StringIO:
    stream = io.StringIO()
    configure_logging("INFO", stream)
    return stream


def test_one_json_line_per_event_with_extra_fields() -> None:
    stream = capture()
    logging.getLogger("switchman.test").info("release started", extra={"release_id": 7, "service": "api"})
    [line] = stream.getvalue().splitlines()
    entry = json.loads(line)
    assert entry["event"] == "release started"
    assert (entry["release_id"], entry["service"], entry["level"]) == (7, "api", "info")


def test_configured_secrets_never_reach_the_log() -> None:
    settings = Settings.from_env({"SLACK_BOT_TOKEN": "xoxb-1111-2222-abcdefabcdef",
                                  "SLACK_SIGNING_SECRET": "8f14e45fceea167a5a36dedd4bea2543",
                                  "SWITCHMAN_WEBHOOK_SECRET": "hunter2-but-longer",
                                  "GITLAB_TOKEN": "plain-looking-value-42"})
    settings.secret("GITLAB_TOKEN")
    stream = capture()
    log = logging.getLogger("switchman.test")
    log.info("calling slack with %s", settings.bot_token)
    log.warning("webhook secret was %s", "hunter2-but-longer", extra={"header": "plain-looking-value-42"})
    try:
        raise RuntimeError(f"signing failed with {settings.signing_secret}")
    except RuntimeError:
        log.exception("boom")
    text = stream.getvalue()
    for secret in ("xoxb-1111-2222-abcdefabcdef", "8f14e45fceea167a5a36dedd4bea2543", "hunter2-but-longer",
                   "plain-looking-value-42"):
        assert secret not in text
    assert text.count(REDACTED) >= 4
    assert "8f14e45f" not in repr(settings)


def test_token_shaped_strings_are_masked_even_when_unregistered() -> None:
    samples = {
        "xoxb-9999-8888-unregisteredtoken": "slack bot token",
        "xapp-1-A111-222-deadbeefdeadbeef": "slack app token",
        "ghp_abcdefghijklmnopqrstuvwxyz012345": "github token",
        "glpat-abcdefghijklmnopqrst": "gitlab token",
    }
    for secret in samples:
        assert secret not in scrubber.scrub(f"value={secret}")
    assert "s3cr3t-pass" not in scrubber.scrub("postgresql://switchman:s3cr3t-pass@db/switchman")
    assert "abc.def.ghi-token" not in scrubber.scrub('{"Authorization": "Bearer abc.def.ghi-token"}')


def test_debugging_keeps_the_http_librarys_header_lines_out() -> None:
    """httpcore logs every response's headers at DEBUG (Jenkins' session cookie among them)."""
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    loud = {name: logging.getLogger(name).level for name in LOUD_AT_DEBUG}
    stream = io.StringIO()
    try:
        configure_logging("DEBUG", stream)
        logging.getLogger("httpcore.http11").debug("receive_response_headers.complete return_value=(b'HTTP/1.1', "
                                                   "200, b'OK', [(b'Set-Cookie', b'JSESSIONID.x=0f1e2d3c4b5a6978')])")
        logging.getLogger("switchman.test").debug("ours still shows")
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        for name, was in loud.items():
            logging.getLogger(name).setLevel(was)
    assert "0f1e2d3c4b5a6978" not in stream.getvalue() and "ours still shows" in stream.getvalue()
