"""Process settings read from the environment: where things are, and every secret (§9).

Secrets never come from switchman.yml; they are read here, registered with the log
scrubber, and kept out of `repr()` so they cannot leak through a log line or a traceback.
`VARIABLES` lists every variable the process reads by a fixed name (the deploy folder is checked
against it); `variables_named_by(config)` lists those switchman.yml names (`token_env`, …).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from bot.config.durations import parse_duration
from bot.structured_log import scrubber

DEFAULT_SLACK_API_URL = "https://slack.com/api/"
DEFAULT_PUBLIC_URL = "http://localhost:3000"
EXAMPLE_CONFIG = Path(__file__).parent / "examples" / "switchman.yml"


@dataclass(frozen=True)
class Variable:
    name: str
    secret: bool  # set from a secret store (a Kubernetes Secret), never in plain configuration
    needed: Literal["serve", "http mode", "optional"]  # when `serve` cannot run without it


VARIABLES: tuple[Variable, ...] = (
    Variable("SLACK_BOT_TOKEN", secret=True, needed="serve"),
    Variable("SLACK_SIGNING_SECRET", secret=True, needed="http mode"),
    Variable("SLACK_APP_TOKEN", secret=True, needed="optional"),  # set: Socket Mode
    Variable("SWITCHMAN_WEBHOOK_SECRET", secret=True, needed="optional"),  # unset: /webhooks/alertmanager refuses all
    Variable("SWITCHMAN_DATABASE_URL", secret=True, needed="optional"),  # holds the password; unset: ./switchman.db
    Variable("SWITCHMAN_CONFIG", secret=False, needed="optional"),  # unset: ./switchman.yml (or --example)
    Variable("SWITCHMAN_PUBLIC_URL", secret=False, needed="optional"),
    Variable("SWITCHMAN_LOG_LEVEL", secret=False, needed="optional"),
    Variable("SWITCHMAN_SLACK_API_URL", secret=False, needed="optional"),  # GovSlack, tests
    Variable("SWITCHMAN_SLACK_TIMEOUT", secret=False, needed="optional"),
    Variable("SWITCHMAN_SLACK_STARTUP_WAIT", secret=False, needed="optional"),
)


def variables_named_by(config: BaseModel) -> set[str]:
    """The environment variables a switchman.yml names (`token_env`, `secret_env`, `password_env`…)."""
    return {value for name, value in _fields(config) if name.endswith("_env") and isinstance(value, str)}


def _fields(node: object) -> Iterator[tuple[str, object]]:
    if isinstance(node, BaseModel):
        for name in type(node).model_fields:
            value = getattr(node, name)
            yield name, value
            yield from _fields(value)
    elif isinstance(node, dict):
        for value in node.values():
            yield from _fields(value)
    elif isinstance(node, list | tuple):
        for value in node:
            yield from _fields(value)


@dataclass(frozen=True)
class Settings:
    config_path: Path
    database_url: str
    slack_api_url: str
    bot_token: str | None = field(default=None, repr=False)
    signing_secret: str | None = field(default=None, repr=False)
    app_token: str | None = field(default=None, repr=False)
    webhook_secret: str | None = field(default=None, repr=False)
    environ: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)
    log_level: str = "INFO"
    # Where people reach this Switchman from outside (calendar feed URLs): SWITCHMAN_PUBLIC_URL.
    public_url: str = DEFAULT_PUBLIC_URL
    # How long one Slack Web API call may take before the outbox counts it as unanswered (and retries,
    # after looking for the message): `SWITCHMAN_SLACK_TIMEOUT`, a duration such as `10s`.
    slack_timeout: float = 10.0
    # How long `serve` retries `auth.test` while Slack does not answer before it gives up (exit 1):
    # `SWITCHMAN_SLACK_STARTUP_WAIT`, a duration such as `60s`.
    slack_startup_wait: float = 60.0
    # True when neither SWITCHMAN_CONFIG nor ./switchman.yml exists, so the shipped example was chosen.
    config_is_fallback: bool = False

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = dict(os.environ if environ is None else environ)
        settings = cls(
            config_path=resolve_config_path(env),
            database_url=env.get("SWITCHMAN_DATABASE_URL") or default_database_url(),
            slack_api_url=_with_trailing_slash(env.get("SWITCHMAN_SLACK_API_URL") or DEFAULT_SLACK_API_URL),
            bot_token=env.get("SLACK_BOT_TOKEN") or None,
            signing_secret=env.get("SLACK_SIGNING_SECRET") or None,
            app_token=env.get("SLACK_APP_TOKEN") or None,
            webhook_secret=env.get("SWITCHMAN_WEBHOOK_SECRET") or None,
            environ=env,
            log_level=env.get("SWITCHMAN_LOG_LEVEL", "INFO"),
            public_url=(env.get("SWITCHMAN_PUBLIC_URL") or DEFAULT_PUBLIC_URL).rstrip("/"),
            slack_timeout=parse_duration(env.get("SWITCHMAN_SLACK_TIMEOUT") or "10s").total_seconds(),
            slack_startup_wait=parse_duration(env.get("SWITCHMAN_SLACK_STARTUP_WAIT") or "60s").total_seconds(),
            config_is_fallback=not env.get("SWITCHMAN_CONFIG") and not Path("switchman.yml").exists(),
        )
        scrubber.register([settings.bot_token, settings.signing_secret, settings.app_token, settings.webhook_secret,
                           _password_of(settings.database_url)])
        return settings

    def secret(self, name: str) -> str | None:
        """A provider token named by `token_env` in the config; registered with the scrubber."""
        value = self.environ.get(name) or None
        scrubber.register([value])
        return value


def resolve_config_path(env: Mapping[str, str]) -> Path:
    """SWITCHMAN_CONFIG, else ./switchman.yml, else the shipped example (§9, issue #2)."""
    explicit = env.get("SWITCHMAN_CONFIG")
    if explicit:
        return Path(explicit)
    local = Path("switchman.yml")
    return local if local.exists() else EXAMPLE_CONFIG


def _password_of(url: str) -> str | None:
    from sqlalchemy.engine import make_url  # imported here: settings are read before anything else loads

    try:
        return make_url(url).password
    except Exception:  # an unparsable URL fails later, where it is used, with its own message
        return None


def default_database_url() -> str:
    return f"sqlite:///{Path('switchman.db').resolve()}"


def _with_trailing_slash(url: str) -> str:
    return url if url.endswith("/") else url + "/"
