"""The `switchman` command: serve, console, migrate, check-config, audit verify, export (§10)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from bot.config.loader import load_config
from bot.config.models import SwitchmanConfig, summarise, trust_summary
from bot.config.web_log import describe as web_log_line
from bot.errors import ConfigError, SwitchmanError
from bot.settings import Settings
from bot.structured_log import configure_logging

if TYPE_CHECKING:
    from bot.ledger.chain import VerifyReport
    from bot.storage.database import Database

log = logging.getLogger("switchman")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="switchman", description="Release, roll back and carry the pager from Slack.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = sub.add_parser("serve", help="run the Slack app (Socket Mode if SLACK_APP_TOKEN is set, else HTTP)")
    serve.add_argument("--host", default="0.0.0.0", help="address to listen on (default 0.0.0.0)")
    serve.add_argument("--port", type=int, default=3000, help="HTTP port (default 3000)")
    serve.add_argument("--example", action="store_true",
                       help="allow serving the shipped example config when no SWITCHMAN_CONFIG or ./switchman.yml "
                            "exists (sandbox provider: deploys go nowhere)")
    console = sub.add_parser("console", help="chat with Switchman in the terminal against a simulated Slack")
    console.add_argument("--script", metavar="FILE", help="read input lines from FILE and print the transcript")
    console.add_argument("--as", dest="as_user", metavar="USER", help="start as this person (default alice)")
    console.add_argument("--at", type=_instant, metavar="ISO-8601",
                         help="run on simulated time from this instant (e.g. 2026-11-18T10:00Z): waits take no "
                              "real time and a script prints the same transcript every time")
    sub.add_parser("migrate", help="bring the database schema up to date")
    check = sub.add_parser("check-config", help="validate a switchman.yml and exit non-zero if it is invalid")
    check.add_argument("path", nargs="?", help="the file (default: SWITCHMAN_CONFIG, ./switchman.yml, the example)")
    audit = sub.add_parser("audit", help="check the decision ledger")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True, metavar="ACTION")
    audit_sub.add_parser("verify", help="walk the hash chain; exit 1 and list every edited, deleted or unlinked row")
    export = sub.add_parser("export", help="write releases, ledger decisions and release reports as JSON lines or CSV",
                            description="Streams the rows in key order, so histories larger than memory export too.")
    export.add_argument("--format", choices=["jsonl", "csv"], default="jsonl", help="default jsonl")
    export.add_argument("--what", choices=["decisions", "releases", "reports", "all"], default="decisions",
                        help="which rows (default decisions; all needs jsonl, each line then has a 'record' key)")
    export.add_argument("--since", type=_export_bound, metavar="DATE",
                        help="from this date or instant on (UTC if no offset)")
    export.add_argument("--until", type=_export_bound, metavar="DATE",
                        help="before this date or instant (UTC if no offset)")
    export.add_argument("--service", metavar="S", help="only this service's releases, their decisions and reports")
    export.add_argument("--output", metavar="FILE", help="write here instead of standard output")
    export.set_defaults(usage=export.format_usage())
    return parser


def _export_bound(text: str) -> datetime:
    """A date or instant for --since/--until; without an offset it is UTC (a ledger is read in UTC)."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO-8601 date or instant: {text!r}") from None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _instant(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO-8601 instant, e.g. 2026-11-18T10:00Z") from None
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} has no time zone; add Z or an offset like +01:00")
    return value.astimezone(UTC)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = Settings.from_env()
    quiet = args.command in ("console", "check-config", "audit", "export")
    configure_logging("WARNING" if quiet and settings.log_level.upper() == "INFO" else settings.log_level)
    try:
        return _dispatch(args, settings)
    except ConfigError as exc:
        for problem in exc.problems:
            print(str(problem), file=sys.stderr)
        print(f"{len(exc.problems)} problem(s); the configuration was not loaded.", file=sys.stderr)
        return 2
    except SwitchmanError as exc:
        print(f"switchman: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _check_risk(path: str, config: SwitchmanConfig) -> None:
    """check-config's lines on risk controls and rollback drills (bot/config/risk_summary.py)."""
    from bot.config.risk_summary import lines

    said, warnings = lines(config)
    for line in said:
        print(f"{path}: {line}")
    for warning in warnings:
        print(f"{path}: warning: {warning}", file=sys.stderr)


def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "check-config":
        path = args.path or settings.config_path
        config = load_config(path)
        s = summarise(config)
        print(f"{path}: OK — {len(s['providers'])} provider(s), {len(s['services'])} service(s), "
              f"{len(s['rotations'])} rotation(s)")
        for line in trust_summary(config):
            print(f"{path}: {line}")
        print(f"{path}: {web_log_line(config.web_log)}")
        if config.fallback_rotation is None and config.unrouted_channel is None:
            print(f"{path}: warning: neither fallback_rotation nor unrouted_channel is set: an alert no rotation "
                  "claims is only stored and logged; set fallback_rotation (a rotation to page) or "
                  "unrouted_channel (a channel to post in)", file=sys.stderr)
        _check_risk(str(path), config)
        return 0
    if args.command == "migrate":
        from bot.storage.migrate import current_revision, upgrade

        upgrade(settings.database_url)
        print(f"database at revision {current_revision(settings.database_url)}")
        return 0
    if args.command == "console":
        from bot.console.run import run_console

        return asyncio.run(run_console(settings, script=args.script, as_user=args.as_user, at=args.at))
    if args.command == "serve":
        from bot.serve import serve
        from bot.slack.token_check import SlackUnreachable

        try:
            asyncio.run(serve(settings, host=args.host, port=args.port, example=args.example))
        except SlackUnreachable as exc:  # maybe temporary: 1, not the 2 of a configuration error
            print(f"switchman: {exc}", file=sys.stderr)
            return 1
        return 0
    if args.command == "audit":
        from bot.storage.migrate import upgrade

        upgrade(settings.database_url)
        return asyncio.run(_audit_verify(settings))
    if args.command == "export":
        from bot.storage.migrate import upgrade

        upgrade(settings.database_url)
        return asyncio.run(_export(settings, args))
    raise AssertionError(args.command)


async def _audit_verify(settings: Settings) -> int:
    from bot.ledger.service import verify
    from bot.storage.database import Database

    db = Database(settings.database_url)
    try:
        async with db.session() as session:
            report = await verify(session)
        await _record_audit_run(db, report)
    finally:
        await db.dispose()
    if report.ok:
        print(f"ledger OK: {report.checked} decisions, chain intact")
        if report.head_seq is not None:
            print(f"head: seq {report.head_seq}, hash {report.head_hash}")
        return 0
    for problem in report.problems:
        print(problem)
    first = min(report.problems, key=lambda p: p.seq)
    print(f"ledger BROKEN: {len(report.problems)} problem(s) in {report.checked} decisions checked; "
          f"the first broken row is seq {first.seq} ({first.kind})")
    return 1


async def _record_audit_run(db: Database, report: VerifyReport) -> None:
    """Stores the run's result for the web log's chain page (`/log/chain`): when it last ran, and what it found."""
    from bot.web.log_queries import audit_run

    async with db.session() as session:
        session.add(audit_run(report, at=datetime.now(UTC)))
        await session.commit()


async def _export(settings: Settings, args: argparse.Namespace) -> int:
    from bot.ledger.export import KINDS, ExportFormat, ExportRefused, ExportResult, export, service_is_known
    from bot.storage.database import Database

    what = KINDS if args.what == "all" else (args.what,)
    db = Database(settings.database_url)

    async def write(out: TextIO) -> ExportResult:
        async with db.session() as session:
            if args.service is not None and not await service_is_known(session, args.service,
                                                                       _configured_services(settings)):
                raise ExportRefused(f"unknown service {args.service!r}: no release of it is stored and "
                                    f"{settings.config_path} does not list it")
            return await export(session, out, fmt=ExportFormat(args.format), what=what, since=args.since,
                                until=args.until, service=args.service)

    target = None
    try:
        if args.output is None:
            result = await write(sys.stdout)
        else:
            # Written aside and renamed, so a failed export never leaves a file that looks complete.
            target = Path(args.output)
            partial = target.with_name(target.name + ".partial")
            try:
                with partial.open("w", encoding="utf-8", newline="") as out:
                    result = await write(out)
                partial.replace(target)
            finally:
                partial.unlink(missing_ok=True)
    except ExportRefused as refused:
        print(args.usage, end="", file=sys.stderr)
        print(f"switchman export: error: {refused}", file=sys.stderr)
        return 2
    finally:
        await db.dispose()
    for kind in result.missing:
        print(f"no {kind} in this database yet (its table does not exist); none exported", file=sys.stderr)
    if target is not None:
        print(f"exported {result.describe()} to {target}", file=sys.stderr)
    return 0


def _configured_services(settings: Settings) -> frozenset[str]:
    """The services switchman.yml lists; none when it cannot be read (the database may still know the service)."""
    try:
        return frozenset(load_config(settings.config_path).services)
    except (ConfigError, OSError):
        return frozenset()

if __name__ == "__main__":
    sys.exit(main())
