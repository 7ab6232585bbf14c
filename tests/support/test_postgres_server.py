"""Tests for the throwaway PostgreSQL server helper in ``postgres_server``.

The tests that need a real server use the module's own fixture (aliased here as
``pg``, the same way a conftest would alias it) or ``running_postgres``
directly; both skip on a developer machine without PostgreSQL and fail when
``CI=true``.  The skip/fail decision itself is tested without starting a server.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import pathlib
import socket
import subprocess
import sys
import textwrap

import psycopg
import pytest
import sqlalchemy as sa

from . import postgres_server as ps
from .postgres_server import (
    PostgresServer,
    PostgresStartError,
    find_pg_bin_dir,
    is_ci,
    postgres_session_fixture,
    postgres_unavailable_reason,
    running_postgres,
    skip_or_fail,
)

# Aliased exactly as tests/conftest.py is expected to do it.
pg = postgres_session_fixture


def _require_postgres() -> None:
    reason = postgres_unavailable_reason()
    if reason is not None:
        skip_or_fail(reason)


def _postmaster_pid(server: PostgresServer) -> int:
    return int((server.data_dir / "postmaster.pid").read_text().splitlines()[0])


def _listening_addresses(port: int) -> set[str]:
    """Local addresses with a TCP socket in LISTEN state on ``port``, from /proc/net/tcp{,6}."""
    found: set[str] = set()
    for table, width in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        with contextlib.suppress(FileNotFoundError):
            for line in pathlib.Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                local, state = fields[1], fields[3]
                addr_hex, port_hex = local.split(":")
                if state != "0A" or int(port_hex, 16) != port:
                    continue
                assert len(addr_hex) == width
                # Addresses are stored as host-order (little-endian here) 32-bit words.
                raw = b"".join(bytes.fromhex(addr_hex[i : i + 8])[::-1] for i in range(0, width, 8))
                found.add(str(ipaddress.ip_address(raw)))
    return found


def _non_loopback_ipv4() -> str | None:
    """An IPv4 address of this host that is not loopback, if there is one (no packets are sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # TEST-NET-1; UDP connect only selects a route
        except OSError:
            return None
        address: str = probe.getsockname()[0]
    return None if ipaddress.ip_address(address).is_loopback else address


# --------------------------------------------------------------------------- without a server


def test_url_defaults_to_sync_psycopg_and_accepts_other_drivers(tmp_path: pathlib.Path) -> None:
    server = PostgresServer("127.0.0.1", 54321, "switchman", "switchman", tmp_path / "d", tmp_path / "s")
    assert server.url() == "postgresql+psycopg://switchman@127.0.0.1:54321/switchman"
    assert server.url("postgresql") == "postgresql://switchman@127.0.0.1:54321/switchman"


def _fake_bin_dir(directory: pathlib.Path, tools: tuple[str, ...] = ps.SERVER_TOOLS) -> pathlib.Path:
    directory.mkdir(parents=True)
    for tool in tools:
        path = directory / tool
        path.write_text("#!/bin/sh\nexit 1\n")
        path.chmod(0o755)
    return directory


def test_pg_bin_env_var_overrides_discovery(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = _fake_bin_dir(tmp_path / "bin")
    monkeypatch.setenv(ps.PG_BIN_ENV_VAR, str(fake))
    assert find_pg_bin_dir() == fake


def test_invalid_pg_bin_env_var_makes_postgres_unavailable(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    incomplete = _fake_bin_dir(tmp_path / "bin", tools=("initdb",))
    monkeypatch.setenv(ps.PG_BIN_ENV_VAR, str(incomplete))
    assert find_pg_bin_dir() is None
    reason = postgres_unavailable_reason()
    assert reason is not None and ps.PG_BIN_ENV_VAR in reason and str(incomplete) in reason
    with pytest.raises(PostgresStartError, match=ps.PG_BIN_ENV_VAR), running_postgres(tmp_path / "work"):
        pass  # pragma: no cover


def test_missing_binaries_reason_explains_how_to_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ps.PG_BIN_ENV_VAR, raising=False)
    monkeypatch.setattr(ps, "find_pg_bin_dir", lambda: None)
    reason = postgres_unavailable_reason()
    assert reason is not None
    assert "not found" in reason and "apt-get install postgresql" in reason and ps.PG_BIN_ENV_VAR in reason


def test_root_without_unprivileged_account_is_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ps, "find_pg_bin_dir", lambda: pathlib.Path("/opt/pg/bin"))
    monkeypatch.setattr(ps, "_running_as_root", lambda: True)
    monkeypatch.setattr(ps, "_unprivileged_account", lambda: None)
    reason = postgres_unavailable_reason()
    assert reason is not None and "root" in reason


def test_newest_debian_version_wins() -> None:
    keys = [ps._version_key(pathlib.Path(f"/usr/lib/postgresql/{v}/bin")) for v in ("9.6", "15", "13", "x")]
    assert max(keys) == (15,)
    assert sorted(keys) == [(), (9, 6), (13,), (15,)]


@pytest.mark.parametrize(
    ("ci_value", "expect_failure"),
    [("true", True), ("TRUE", True), ("1", True), ("false", False), ("", False), (None, False)],
)
def test_skip_or_fail_decision(
    monkeypatch: pytest.MonkeyPatch, ci_value: str | None, expect_failure: bool
) -> None:
    if ci_value is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci_value)
    assert is_ci() is expect_failure
    expected = pytest.fail.Exception if expect_failure else pytest.skip.Exception
    with pytest.raises(expected) as excinfo:
        skip_or_fail("no initdb here")
    assert "no initdb here" in str(excinfo.value)


def test_skip_or_fail_uses_explicit_environ_mapping() -> None:
    with pytest.raises(pytest.fail.Exception):
        skip_or_fail("x", environ={"CI": "true"})
    with pytest.raises(pytest.skip.Exception):
        skip_or_fail("x", environ={})


def _run_fixture_in_subprocess(tmp_path: pathlib.Path, ci: str | None) -> subprocess.CompletedProcess[str]:
    """Run a tiny pytest session that aliases the fixture like a conftest would, with PG made unavailable."""
    package = ps.__name__.rpartition(".")[0]
    import_root = pathlib.Path(ps.__file__).resolve().parents[len(package.split("."))]
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "conftest.py").write_text(
        f"from {ps.__name__} import postgres_session_fixture\n\npostgres_server = postgres_session_fixture\n"
    )
    (tmp_path / "test_uses_pg.py").write_text(
        textwrap.dedent(
            """
            def test_needs_postgres(postgres_server):
                assert postgres_server.port > 0
            """
        )
    )
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "PYTEST_ADDOPTS")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(import_root), env.get("PYTHONPATH")]))
    env[ps.PG_BIN_ENV_VAR] = str(tmp_path / "no-such-postgres")
    if ci is not None:
        env["CI"] = ci
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rsf", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_aliased_fixture_skips_when_unavailable_off_ci(tmp_path: pathlib.Path) -> None:
    result = _run_fixture_in_subprocess(tmp_path, ci=None)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "1 skipped" in output and "PostgreSQL unavailable" in output and "no-such-postgres" in output


def test_aliased_fixture_fails_when_unavailable_on_ci(tmp_path: pathlib.Path) -> None:
    result = _run_fixture_in_subprocess(tmp_path, ci="true")
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "skipped" not in output
    assert "required on CI" in output and "no-such-postgres" in output


# --------------------------------------------------------------------------- with a real server


def test_select_one_and_create_table(pg: PostgresServer) -> None:
    engine = sa.create_engine(pg.url())
    try:
        with engine.connect() as conn:
            assert conn.execute(sa.text("select 1")).scalar_one() == 1
            row = conn.execute(sa.text("select current_user, current_database()")).one()
            assert tuple(row) == ("switchman", "switchman")
        with engine.begin() as conn:
            conn.execute(sa.text("create table probe (id serial primary key, name text not null)"))
            conn.execute(sa.text("insert into probe (name) values ('a'), ('b')"))
        with engine.connect() as conn:
            assert conn.execute(sa.text("select count(*) from probe")).scalar_one() == 2
            owner = conn.execute(
                sa.text("select pg_get_userbyid(datdba) from pg_database where datname = current_database()")
            ).scalar_one()
            assert owner == "switchman"
        with engine.begin() as conn:
            conn.execute(sa.text("drop table probe"))
    finally:
        engine.dispose()


def test_listens_only_on_loopback(pg: PostgresServer) -> None:
    assert pg.host == "127.0.0.1"
    with psycopg.connect(pg.url("postgresql")) as conn:
        assert conn.execute("show listen_addresses").fetchone() == ("127.0.0.1",)
        assert str(conn.execute("select inet_server_addr()").fetchone()[0]) == "127.0.0.1"  # type: ignore[index]
    if pathlib.Path("/proc/net/tcp").exists():
        assert _listening_addresses(pg.port) == {"127.0.0.1"}
    other = _non_loopback_ipv4()
    if other is not None:
        with pytest.raises(OSError), socket.create_connection((other, pg.port), timeout=5):
            pass  # pragma: no cover


def test_unix_socket_lives_in_socket_dir(pg: PostgresServer) -> None:
    assert (pg.socket_dir / f".s.PGSQL.{pg.port}").exists()
    with psycopg.connect(host=str(pg.socket_dir), port=pg.port, user=pg.user, dbname=pg.database) as conn:
        assert conn.execute("select 1").fetchone() == (1,)


def test_server_process_is_unprivileged(pg: PostgresServer) -> None:
    status = pathlib.Path(f"/proc/{_postmaster_pid(pg)}/status")
    if not status.exists():
        pytest.skip("needs /proc")
    uid_line = next(line for line in status.read_text().splitlines() if line.startswith("Uid:"))
    real_uid = int(uid_line.split()[1])
    assert real_uid != 0
    if os.geteuid() != 0:
        assert real_uid == os.geteuid()


@pytest.mark.parametrize("body_raises", [False, True], ids=["normal-exit", "body-raises"])
def test_exit_stops_server_and_removes_data_dir(tmp_path: pathlib.Path, body_raises: bool) -> None:
    _require_postgres()

    class BodyError(Exception):
        pass

    started: list[tuple[PostgresServer, int]] = []
    with contextlib.ExitStack() as stack:
        if body_raises:
            stack.enter_context(pytest.raises(BodyError))
        with running_postgres(tmp_path) as server:
            pid = _postmaster_pid(server)
            started.append((server, pid))
            assert server.data_dir.is_dir()
            assert ps._is_our_postmaster(pid, server.data_dir)
            if body_raises:
                raise BodyError("boom")

    [(server, pid)] = started
    assert not server.data_dir.exists()
    assert not server.data_dir.parent.exists()
    assert not server.socket_dir.exists()
    assert not ps._pid_alive(pid)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(OSError), socket.create_connection((server.host, server.port), timeout=5):
        pass  # pragma: no cover


def test_retries_on_a_port_race(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _require_postgres()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        real_pick = ps._pick_free_port
        picks = iter([taken])

        def pick() -> int:
            return next(picks, None) or real_pick()

        monkeypatch.setattr(ps, "_pick_free_port", pick)
        with running_postgres(tmp_path) as server:
            assert server.port != taken
            with psycopg.connect(server.url("postgresql")) as conn:
                assert conn.execute("select 1").fetchone() == (1,)


def test_startup_failure_reports_log_tail_and_cleans_up(tmp_path: pathlib.Path) -> None:
    _require_postgres()
    created: list[pathlib.Path] = []
    real_make_layout = ps._make_layout

    def recording_make_layout(*args: object, **kwargs: object) -> ps._Layout:
        layout = real_make_layout(*args, **kwargs)  # type: ignore[arg-type]
        created.append(layout.base)
        return layout

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(ps, "_make_layout", recording_make_layout)
        with (
            pytest.raises(PostgresStartError) as excinfo,
            running_postgres(tmp_path, extra_settings={"shared_buffers": "1kB"}),
        ):
            pass  # pragma: no cover
    message = str(excinfo.value)
    assert "server log tail" in message and "shared_buffers" in message
    assert created and not created[0].exists()
