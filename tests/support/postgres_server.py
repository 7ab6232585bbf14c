"""Start a real, throwaway PostgreSQL server on loopback for tests.

``running_postgres(workdir)`` runs ``initdb`` into a fresh directory, starts the
server on ``127.0.0.1`` on a free port (retrying on a port race), creates the
database ``switchman`` owned by the user ``switchman`` and yields a
:class:`PostgresServer`.  On exit the server is stopped (``pg_ctl stop -m
immediate``, with a SIGKILL fallback) and its directory removed, even when the
body raised.

The server is tuned for speed, not durability: ``fsync``, ``full_page_writes``
and ``synchronous_commit`` are off, ``wal_level`` is minimal and
``shared_buffers`` is small.  Authentication is ``trust`` for the Unix socket and
for ``127.0.0.1`` only.

PostgreSQL refuses to run as root.  When the tests run as root, every server
command (``initdb``, ``pg_ctl`` and thereby ``postgres``) is run as an existing
unprivileged account (``postgres`` if it exists, else ``nobody``) through
``runuser -u USER --`` (or ``setpriv`` when ``runuser`` is missing).  Because
pytest's temporary directories (``/tmp/pytest-of-root/...``) are mode 0700 and
therefore not traversable by that account, the server directory is then *not*
placed under ``workdir``; instead a private directory is created with
``tempfile.mkdtemp`` directly in a world-traversable temporary directory
(normally ``/tmp``, sticky and mode 1777) and chowned to the account.  Nothing
outside that new directory has its permissions changed.  When not root, the
server directory is created under ``workdir`` and the commands run directly.

``postgres_session_fixture`` is a session-scoped pytest fixture built on top of
this.  It skips when no server can be started on a developer machine, but fails
when the environment variable ``CI`` is ``true``, so that CI cannot silently
skip the PostgreSQL tests.  Import it into a conftest under the name the tests
use, e.g. ``from tests.support.postgres_server import postgres_session_fixture
as postgres_server``; pytest registers fixtures under the attribute name.

The binaries are looked up by :func:`find_pg_bin_dir`: ``$SWITCHMAN_PG_BIN`` if
set, else the newest ``/usr/lib/postgresql/*/bin`` (Debian/Ubuntu layout), else
the directory of ``initdb`` on ``PATH``.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import pwd
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import NoReturn

import psycopg
import pytest

__all__ = [
    "PG_BIN_ENV_VAR",
    "PostgresServer",
    "PostgresStartError",
    "find_pg_bin_dir",
    "is_ci",
    "postgres_session_fixture",
    "postgres_unavailable_reason",
    "running_postgres",
    "skip_or_fail",
]

PG_BIN_ENV_VAR = "SWITCHMAN_PG_BIN"
"""Environment variable naming a directory holding ``initdb``, ``pg_ctl`` and ``postgres``."""

DEBIAN_PG_ROOT = pathlib.Path("/usr/lib/postgresql")
SERVER_TOOLS = ("initdb", "pg_ctl", "postgres")
UNPRIVILEGED_ACCOUNTS = ("postgres", "nobody")

DEFAULT_USER = "switchman"
DEFAULT_DATABASE = "switchman"
LOOPBACK = "127.0.0.1"

PORT_ATTEMPTS = 5
DEFAULT_STARTUP_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0
COMMAND_TIMEOUT = 120.0
LOG_TAIL_LINES = 40
# sun_path is 108 bytes on Linux (104 on macOS); keep a margin for ".s.PGSQL.NNNNN".
MAX_SOCKET_PATH = 100
_PORT_IN_USE_MARKERS = ("could not bind", "Address already in use", "could not create any TCP/IP sockets")

_FAST_SETTINGS: dict[str, str] = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "wal_level": "minimal",
    "max_wal_senders": "0",
    "shared_buffers": "16MB",
    "max_connections": "100",
    "huge_pages": "off",
    "logging_collector": "off",
}


class PostgresStartError(RuntimeError):
    """The throwaway server could not be initialised or started."""


@dataclass(frozen=True)
class PostgresServer:
    """Connection details of a running throwaway server.

    ``data_dir`` and ``socket_dir`` are extras for diagnostics; both are gone
    once the ``running_postgres`` block has exited.
    """

    host: str
    port: int
    user: str
    database: str
    data_dir: pathlib.Path
    socket_dir: pathlib.Path

    def url(self, driver: str = "postgresql+psycopg") -> str:
        """SQLAlchemy URL, e.g. ``postgresql+psycopg://switchman@127.0.0.1:PORT/switchman``.

        With ``driver="postgresql"`` this is also a libpq URI usable by psycopg directly.
        """
        return f"{driver}://{self.user}@{self.host}:{self.port}/{self.database}"


# --------------------------------------------------------------------------- discovery


def _has_server_tools(directory: pathlib.Path) -> bool:
    return all((directory / tool).is_file() and os.access(directory / tool, os.X_OK) for tool in SERVER_TOOLS)


def _version_key(bin_dir: pathlib.Path) -> tuple[int, ...]:
    """``/usr/lib/postgresql/15/bin`` -> ``(15,)``; ``9.6`` -> ``(9, 6)``; unparseable -> ``()``."""
    name = bin_dir.parent.name
    if not re.fullmatch(r"\d+(\.\d+)*", name):
        return ()
    return tuple(int(part) for part in name.split("."))


def find_pg_bin_dir() -> pathlib.Path | None:
    """Directory holding ``initdb``, ``pg_ctl`` and ``postgres``, or ``None``.

    ``$SWITCHMAN_PG_BIN`` wins when set (and yields ``None`` if it is not a
    valid directory, rather than silently using another installation); then the
    newest ``/usr/lib/postgresql/<version>/bin``; then ``initdb``'s directory on
    ``PATH`` (also after resolving symlinks, for Homebrew-style layouts).
    """
    override = os.environ.get(PG_BIN_ENV_VAR, "").strip()
    if override:
        candidate = pathlib.Path(override)
        return candidate if _has_server_tools(candidate) else None

    if DEBIAN_PG_ROOT.is_dir():
        versioned = sorted(DEBIAN_PG_ROOT.glob("*/bin"), key=_version_key, reverse=True)
        for bin_dir in versioned:
            if _has_server_tools(bin_dir):
                return bin_dir

    initdb = shutil.which("initdb")
    if initdb is not None:
        for candidate in (pathlib.Path(initdb).parent, pathlib.Path(initdb).resolve().parent):
            if _has_server_tools(candidate):
                return candidate
    return None


def _running_as_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def _unprivileged_account() -> pwd.struct_passwd | None:
    for name in UNPRIVILEGED_ACCOUNTS:
        try:
            account = pwd.getpwnam(name)
        except KeyError:
            continue
        if account.pw_uid != 0:
            return account
    return None


def _find_privilege_tool() -> tuple[str, str] | None:
    """``("runuser", path)`` or ``("setpriv", path)``; sbin is searched even if not on PATH."""
    search_path = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin", "/usr/bin", "/bin"])
    for tool in ("runuser", "setpriv"):
        found = shutil.which(tool, path=search_path)
        if found is not None:
            return tool, found
    return None


def postgres_unavailable_reason() -> str | None:
    """``None`` if a throwaway server can be started here, else a human-readable reason.

    This only inspects the machine (binaries, accounts, tools); it does not start anything.
    """
    if not sys.platform.startswith(("linux", "darwin", "freebsd")):
        return f"throwaway PostgreSQL servers are only supported on POSIX systems, not {sys.platform}"
    if find_pg_bin_dir() is None:
        override = os.environ.get(PG_BIN_ENV_VAR, "").strip()
        if override:
            return f"${PG_BIN_ENV_VAR}={override!r} does not contain executable {', '.join(SERVER_TOOLS)}"
        return (
            f"PostgreSQL server binaries ({', '.join(SERVER_TOOLS)}) not found in "
            f"{DEBIAN_PG_ROOT}/*/bin or on PATH; install them (e.g. `apt-get install postgresql`) "
            f"or set ${PG_BIN_ENV_VAR} to their directory"
        )
    if _running_as_root():
        if _unprivileged_account() is None:
            return (
                "running as root, and PostgreSQL refuses to run as root, but no unprivileged "
                f"account ({' or '.join(UNPRIVILEGED_ACCOUNTS)}) exists to run it as"
            )
        if _find_privilege_tool() is None:
            return "running as root, but neither `runuser` nor `setpriv` is available to drop privileges"
    return None


# --------------------------------------------------------------------------- running commands


@dataclass(frozen=True)
class _Runner:
    """Runs PostgreSQL tools, as ``account`` (via runuser/setpriv) when it is set."""

    bin_dir: pathlib.Path
    cwd: pathlib.Path
    account: pwd.struct_passwd | None = None
    privilege_tool: tuple[str, str] | None = None

    def argv(self, tool: str, *args: str) -> list[str]:
        command = [str(self.bin_dir / tool), *args]
        if self.account is None:
            return command
        assert self.privilege_tool is not None
        kind, path = self.privilege_tool
        if kind == "runuser":
            return [path, "-u", self.account.pw_name, "--", *command]
        return [
            path,
            f"--reuid={self.account.pw_uid}",
            f"--regid={self.account.pw_gid}",
            "--clear-groups",
            "--",
            *command,
        ]

    def run(
        self, tool: str, *args: str, timeout: float = COMMAND_TIMEOUT
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.argv(tool, *args),
            cwd=self.cwd,
            env=_tool_environment(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def give(self, path: pathlib.Path) -> None:
        """Hand ``path`` over to the unprivileged account (no-op when not dropping privileges)."""
        if self.account is not None:
            os.chown(path, self.account.pw_uid, self.account.pw_gid)


def _tool_environment() -> dict[str, str]:
    """The caller's environment without libpq/PG* variables, with a C locale."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
    env.update({"LC_ALL": "C", "LANG": "C"})
    return env


def _describe(result: subprocess.CompletedProcess[str]) -> str:
    command = " ".join(result.args) if isinstance(result.args, list) else str(result.args)
    return (
        f"`{command}` exited with {result.returncode}\n"
        f"--- stdout ---\n{result.stdout.strip()}\n--- stderr ---\n{result.stderr.strip()}"
    )


# --------------------------------------------------------------------------- filesystem helpers


def _others_can_traverse(path: pathlib.Path) -> bool:
    """True if every directory from ``/`` down to ``path`` is searchable by "other"."""
    current = path.resolve()
    for directory in (current, *current.parents):
        try:
            mode = directory.stat().st_mode
        except OSError:
            return False
        if not mode & stat.S_IXOTH:
            return False
    return True


def _shared_temp_root() -> pathlib.Path:
    """A temporary directory an unprivileged account can reach (used when running as root)."""
    for candidate in (pathlib.Path(tempfile.gettempdir()), pathlib.Path("/tmp"), pathlib.Path("/var/tmp")):
        if candidate.is_dir() and _others_can_traverse(candidate):
            return candidate
    raise PostgresStartError(
        "running as root, but no world-traversable temporary directory was found "
        f"(tried {tempfile.gettempdir()}, /tmp, /var/tmp) to hold the server's data directory"
    )


def _socket_path_fits(directory: pathlib.Path) -> bool:
    return len(os.fsencode(directory / ".s.PGSQL.65535")) <= MAX_SOCKET_PATH


def _quote_conf(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


def _log_tail(log_file: pathlib.Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        text = log_file.read_text(errors="replace")
    except OSError as exc:
        return f"(server log {log_file} unreadable: {exc})"
    tail = text.splitlines()[-lines:]
    return "\n".join(tail) if tail else f"(server log {log_file} is empty)"


def _pid_alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie (a reparented postmaster may linger as one)."""
    if pathlib.Path("/proc/self/stat").exists():
        try:
            content = pathlib.Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return False
        # Format: "pid (comm) state ...", and comm may contain spaces or parentheses.
        state = content.rpartition(")")[2].split()[0]
        return state not in ("Z", "X")
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _is_our_postmaster(pid: int, data_dir: pathlib.Path) -> bool:
    """True if ``pid`` is alive and (where /proc allows checking) is the postmaster of ``data_dir``.

    Guards against a stale ``postmaster.pid`` whose pid now belongs to an unrelated process.
    """
    if not _pid_alive(pid):
        return False
    try:
        cmdline = pathlib.Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return not pathlib.Path("/proc/self/cmdline").exists()
    return os.fsencode(data_dir) in cmdline


def _wait_for_exit(pid: int, data_dir: pathlib.Path, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while _is_our_postmaster(pid, data_dir):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)  # polling interval, bounded by the deadline above
    return True


def _postmaster_pid(data_dir: pathlib.Path) -> int | None:
    try:
        first_line = (data_dir / "postmaster.pid").read_text().splitlines()[0]
        return int(first_line.strip())
    except (OSError, IndexError, ValueError):
        return None


def _pick_free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port


# --------------------------------------------------------------------------- server lifecycle


@dataclass(frozen=True)
class _Layout:
    base: pathlib.Path
    data_dir: pathlib.Path
    socket_dir: pathlib.Path
    log_file: pathlib.Path
    extra_dirs: tuple[pathlib.Path, ...]  # created outside ``base`` (long socket paths), removed too


def _make_layout(workdir: pathlib.Path, runner_account: pwd.struct_passwd | None) -> _Layout:
    if runner_account is None:
        workdir.mkdir(parents=True, exist_ok=True)
        base = pathlib.Path(tempfile.mkdtemp(prefix="pg-", dir=workdir))
    else:
        base = pathlib.Path(tempfile.mkdtemp(prefix="switchman-pg-", dir=_shared_temp_root()))
    extra: list[pathlib.Path] = []
    socket_dir = base / "sock"
    socket_dir.mkdir(mode=0o700)
    if not _socket_path_fits(socket_dir):
        # Unix socket paths are limited to ~107 bytes; deep pytest tmp dirs can exceed that.
        socket_dir = pathlib.Path(tempfile.mkdtemp(prefix="swpg-"))
        extra.append(socket_dir)
    return _Layout(
        base=base,
        data_dir=base / "data",
        socket_dir=socket_dir,
        log_file=base / "postgres.log",
        extra_dirs=tuple(extra),
    )


def _initdb(runner: _Runner, layout: _Layout, user: str) -> None:
    result = runner.run(
        "initdb",
        "-D",
        str(layout.data_dir),
        "-U",
        user,
        "--auth=trust",
        "--encoding=UTF8",
        "--locale=C",
        "--no-sync",
    )
    if result.returncode != 0:
        raise PostgresStartError(f"initdb failed:\n{_describe(result)}")
    (layout.data_dir / "pg_hba.conf").write_text(
        "# Written by tests/support/postgres_server.py: trust, Unix socket and 127.0.0.1 only.\n"
        "local all all trust\n"
        f"host all all {LOOPBACK}/32 trust\n"
    )


def _write_config(layout: _Layout, base_config: str, port: int, extra_settings: Mapping[str, str]) -> None:
    settings = {
        **_FAST_SETTINGS,
        "listen_addresses": LOOPBACK,
        "port": str(port),
        "unix_socket_directories": str(layout.socket_dir),
        **extra_settings,
    }
    block = "".join(f"{name} = {_quote_conf(value)}\n" for name, value in settings.items())
    # Rewrite in place (not via rename) so the file keeps its owner when we are root.
    (layout.data_dir / "postgresql.conf").write_text(
        base_config + "\n# --- tests/support/postgres_server.py ---\n" + block
    )


def _start(
    runner: _Runner, layout: _Layout, startup_timeout: float, extra_settings: Mapping[str, str]
) -> int:
    """Start the server on a free port, retrying on port races; return the port."""
    base_config = (layout.data_dir / "postgresql.conf").read_text()
    wait_seconds = str(max(1, int(startup_timeout + 0.999)))
    failures: list[str] = []
    for _attempt in range(PORT_ATTEMPTS):
        port = _pick_free_port()
        _write_config(layout, base_config, port, extra_settings)
        log_offset = layout.log_file.stat().st_size if layout.log_file.exists() else 0
        try:
            result = runner.run(
                "pg_ctl",
                "start",
                "-D",
                str(layout.data_dir),
                "-l",
                str(layout.log_file),
                "-w",
                "-t",
                wait_seconds,
                timeout=startup_timeout + 30,
            )
        except subprocess.TimeoutExpired as exc:
            raise PostgresStartError(
                f"pg_ctl start did not return within {startup_timeout + 30:.0f}s\n"
                f"--- server log tail ({layout.log_file}) ---\n{_log_tail(layout.log_file)}"
            ) from exc
        if result.returncode == 0:
            return port
        with contextlib.suppress(OSError):
            with layout.log_file.open("rb") as log:
                log.seek(log_offset)
                attempt_log = log.read().decode(errors="replace")
            if any(marker in attempt_log for marker in _PORT_IN_USE_MARKERS) and not _postmaster_alive(
                layout
            ):
                failures.append(f"port {port} was taken")
                continue
        raise PostgresStartError(
            f"PostgreSQL did not start (waited up to {wait_seconds}s):\n{_describe(result)}\n"
            f"--- server log tail ({layout.log_file}) ---\n{_log_tail(layout.log_file)}"
        )
    raise PostgresStartError(
        f"PostgreSQL did not start after {PORT_ATTEMPTS} port attempts ({'; '.join(failures)})\n"
        f"--- server log tail ({layout.log_file}) ---\n{_log_tail(layout.log_file)}"
    )


def _postmaster_alive(layout: _Layout) -> bool:
    pid = _postmaster_pid(layout.data_dir)
    return pid is not None and _is_our_postmaster(pid, layout.data_dir)


def _create_database(port: int, user: str, database: str, timeout: float) -> None:
    conninfo = psycopg.conninfo.make_conninfo(
        host=LOOPBACK, port=port, user=user, dbname="postgres", connect_timeout=max(1, int(timeout))
    )
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{database}" OWNER "{user}"')


def _stop(runner: _Runner, layout: _Layout) -> None:
    """Stop the server if it is (or may be) running; SIGKILL the postmaster as a last resort."""
    pid = _postmaster_pid(layout.data_dir)
    if pid is None:
        return
    with contextlib.suppress(subprocess.TimeoutExpired, OSError):
        runner.run(
            "pg_ctl",
            "stop",
            "-D",
            str(layout.data_dir),
            "-m",
            "immediate",
            "-w",
            "-t",
            str(int(STOP_TIMEOUT)),
            timeout=STOP_TIMEOUT + 10,
        )
    if _wait_for_exit(pid, layout.data_dir, STOP_TIMEOUT):
        return
    # The pid came from our own server's postmaster.pid, so this only targets what we started.
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    if not _wait_for_exit(pid, layout.data_dir, STOP_TIMEOUT):
        raise RuntimeError(f"PostgreSQL postmaster {pid} did not exit after SIGKILL")


def _remove(layout: _Layout) -> None:
    for directory in (layout.base, *layout.extra_dirs):
        shutil.rmtree(directory, ignore_errors=True)
    leftovers = [str(d) for d in (layout.base, *layout.extra_dirs) if d.exists()]
    if leftovers:
        raise RuntimeError(f"could not remove throwaway PostgreSQL directories: {', '.join(leftovers)}")


@contextlib.contextmanager
def running_postgres(
    workdir: pathlib.Path,
    *,
    user: str = DEFAULT_USER,
    database: str = DEFAULT_DATABASE,
    startup_timeout: float = DEFAULT_STARTUP_TIMEOUT,
    extra_settings: Mapping[str, str] | None = None,
) -> Iterator[PostgresServer]:
    """Run a throwaway PostgreSQL server for the duration of the ``with`` block.

    ``workdir`` receives the server directory when not running as root (see the
    module docstring for the root case).  ``user`` is the bootstrap superuser and
    owns ``database``.  ``extra_settings`` are appended to ``postgresql.conf``
    (after, and so overriding, the defaults here).  Raises
    :class:`PostgresStartError` (with the server log tail) if the server cannot
    be started within ``startup_timeout`` seconds.
    """
    reason = postgres_unavailable_reason()
    if reason is not None:
        raise PostgresStartError(reason)
    bin_dir = find_pg_bin_dir()
    assert bin_dir is not None  # checked by postgres_unavailable_reason()

    account = _unprivileged_account() if _running_as_root() else None
    layout = _make_layout(pathlib.Path(workdir), account)
    runner = _Runner(
        bin_dir=bin_dir,
        cwd=layout.base,
        account=account,
        privilege_tool=_find_privilege_tool() if account is not None else None,
    )
    try:
        for directory in (layout.base, layout.socket_dir):
            runner.give(directory)
        _initdb(runner, layout, user)
        port = _start(runner, layout, startup_timeout, extra_settings or {})
        try:
            _create_database(port, user, database, startup_timeout)
        except psycopg.Error as exc:
            raise PostgresStartError(
                f"server started on port {port} but creating database {database!r} failed: {exc}\n"
                f"--- server log tail ({layout.log_file}) ---\n{_log_tail(layout.log_file)}"
            ) from exc
        yield PostgresServer(
            host=LOOPBACK,
            port=port,
            user=user,
            database=database,
            data_dir=layout.data_dir,
            socket_dir=layout.socket_dir,
        )
    finally:
        try:
            _stop(runner, layout)
        finally:
            _remove(layout)


# --------------------------------------------------------------------------- pytest integration


def is_ci(environ: Mapping[str, str] | None = None) -> bool:
    """True when ``CI`` is ``true`` (case-insensitive; ``1`` also counts), as set by GitHub Actions & co."""
    env = os.environ if environ is None else environ
    return env.get("CI", "").strip().lower() in ("true", "1")


def skip_or_fail(reason: str, environ: Mapping[str, str] | None = None) -> NoReturn:
    """Skip the requesting test, or fail it on CI, where PostgreSQL must be available."""
    if is_ci(environ):
        pytest.fail(f"PostgreSQL is required on CI (CI=true) but unavailable: {reason}", pytrace=False)
    pytest.skip(f"PostgreSQL unavailable: {reason}")


@pytest.fixture(scope="session")
def postgres_session_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    """Session-scoped throwaway server; skip if unavailable, fail instead when ``CI=true``.

    Use it under another name by assigning it in a conftest, e.g.
    ``postgres_server = postgres_session_fixture``.
    """
    reason = postgres_unavailable_reason()
    if reason is not None:
        skip_or_fail(reason)
    with running_postgres(tmp_path_factory.mktemp("postgres")) as server:
        yield server
