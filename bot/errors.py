"""The one exception family of Switchman, and how each kind reaches a user.

    SwitchmanError
    ├── UserFacingError        — the user can fix it; shown as an ephemeral reply, not logged as a fault
    │   ├── BadInput           — malformed command or form; carries the usage to show
    │   ├── NotAllowed         — the user may not do this (authorization)
    │   └── Blocked            — a valid request that cannot proceed now (lock, gate, queue)
    ├── ConfigError            — switchman.yml is invalid; carries file/line/key problems
    └── ProviderError          — a CI/CD system failed or could not be reached

Anything else is unexpected: it is logged with a traceback and a correlation id, and the user
gets a short apology quoting that id.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass


class SwitchmanError(Exception):
    """Base of every error Switchman raises on purpose."""


class UserFacingError(SwitchmanError):
    """An error whose message is written for the person who typed the command."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadInput(UserFacingError):
    def __init__(self, message: str, *, usage: str | None = None) -> None:
        super().__init__(message)
        self.usage = usage


class NotAllowed(UserFacingError):
    pass


class Blocked(UserFacingError):
    pass


@dataclass(frozen=True)
class ConfigProblem:
    """One thing wrong in a configuration file, located as precisely as the YAML allows."""

    file: str
    line: int | None
    key: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        return f"{where}: {self.key}: {self.message}" if self.key else f"{where}: {self.message}"


class ConfigError(SwitchmanError):
    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class ProviderError(SwitchmanError):
    """A CI/CD provider answered with an error or could not be reached."""


class RefNotFound(ProviderError):
    """The provider answered, and the ref names no commit there (not: the provider failed to answer)."""


def new_correlation_id() -> str:
    """A short id to quote in an apology and find the matching log line."""
    return secrets.token_hex(4)
