"""The `switchman` command: serve, console, migrate, check-config (§10)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence

from bot.config.loader import load_config
from bot.config.models import summarise
from bot.errors import ConfigError, SwitchmanError
from bot.settings import Settings
from bot.structured_log import configure_logging

log = logging.getLogger("switchman")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="switchman", description="Release, roll back and carry the pager from Slack.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = sub.add_parser("serve", help="run the Slack app (Socket Mode if SLACK_APP_TOKEN is set, else HTTP)")
    serve.add_argument("--host", default="0.0.0.0", help="address to listen on (default 0.0.0.0)")
    serve.add_argument("--port", type=int, default=3000, help="HTTP port (default 3000)")
    console = sub.add_parser("console", help="chat with Switchman in the terminal against a simulated Slack")
    console.add_argument("--script", metavar="FILE", help="read input lines from FILE and print the transcript")
    console.add_argument("--as", dest="as_user", metavar="USER", help="start as this person (default alice)")
    sub.add_parser("migrate", help="bring the database schema up to date")
    check = sub.add_parser("check-config", help="validate a switchman.yml and exit non-zero if it is invalid")
    check.add_argument("path", nargs="?", help="the file (default: SWITCHMAN_CONFIG, ./switchman.yml, the example)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = Settings.from_env()
    quiet = args.command in ("console", "check-config")
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


def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "check-config":
        path = args.path or settings.config_path
        config = load_config(path)
        s = summarise(config)
        print(f"{path}: OK — {len(s['providers'])} provider(s), {len(s['services'])} service(s), "
              f"{len(s['rotations'])} rotation(s)")
        return 0
    if args.command == "migrate":
        from bot.storage.migrate import current_revision, upgrade

        upgrade(settings.database_url)
        print(f"database at revision {current_revision(settings.database_url)}")
        return 0
    if args.command == "console":
        from bot.console.run import run_console

        return asyncio.run(run_console(settings, script=args.script, as_user=args.as_user))
    if args.command == "serve":
        from bot.serve import serve

        asyncio.run(serve(settings, host=args.host, port=args.port))
        return 0
    raise AssertionError(args.command)


if __name__ == "__main__":
    sys.exit(main())
