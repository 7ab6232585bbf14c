"""The README's console transcripts, regenerated from the scripts they show (`docs/console-*.txt`).

    python -m bot.console.readme_transcripts           # rewrite README.md's transcripts
    python -m bot.console.readme_transcripts --check   # exit 1 when one is out of date

A transcript in the README is a fenced block that starts with the command that printed it:
`$ .venv/bin/switchman console --script docs/console-NAME.txt --at INSTANT`. Below it come one or more
excerpts separated by `…` lines. An excerpt starts at a line the console printed (its first line is
its anchor) and covers as many typed commands as it shows now; the last one runs to the end. The
console runs as `make run` would without tokens: the example config, a fresh SQLite database in a
scratch directory, no Slack tokens.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
COMMAND = re.compile(r"^\$ \.venv/bin/switchman console --script (docs/console-[\w-]+\.txt) --at (\S+)$")
PROMPT = re.compile(r"^[\w.-]+ in #[\w-]+> ")  # the echo of a typed line: `alice in #api-releases> …`
ELLIPSIS = "…"
FENCE = "```"


@dataclass(frozen=True)
class Block:
    script: str
    at: str
    start: int  # index of the first transcript line (after the `$` line)
    end: int  # index of the closing fence


def blocks(readme: list[str]) -> list[Block]:
    found = []
    for number, line in enumerate(readme):
        match = COMMAND.match(line)
        if match:
            found.append(Block(match.group(1), match.group(2), number + 1, readme.index(FENCE, number + 1)))
    return found


def run_script(script: str, at: str) -> str:
    """What `switchman console --script SCRIPT --at AT` prints on the example config and a fresh database."""
    with tempfile.TemporaryDirectory(prefix="switchman-transcript-") as scratch:
        env = {"PATH": "/usr/bin:/bin", "HOME": scratch}  # no Slack tokens, no config: the example is used
        result = subprocess.run([sys.executable, "-m", "bot.cli", "console", "--script", str(ROOT / script),
                                 "--at", at], cwd=scratch, env={**env, "PYTHONPATH": str(ROOT)},
                                capture_output=True, text=True, timeout=300, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"{script} failed (exit {result.returncode}):\n{result.stdout[-2000:]}{result.stderr}")
    return result.stdout


def excerpts(shown: list[str]) -> list[list[str]]:
    parts: list[list[str]] = [[]]
    for line in shown:
        if line == ELLIPSIS:
            parts.append([])
        else:
            parts[-1].append(line)
    return parts


def regenerate(shown: list[str], printed: list[str]) -> list[str]:
    """The block's new lines: each excerpt again from its anchor, over as many commands as it shows."""
    parts = excerpts(shown)
    out: list[str] = []
    for number, part in enumerate(parts):
        if number:
            out.append(ELLIPSIS)
        if not part:
            continue
        if part[0] not in printed:
            raise ValueError(f"the excerpt starting {part[0]!r} starts with a line the console no longer prints")
        start = printed.index(part[0])
        if number == len(parts) - 1:
            out.extend(printed[start:])
            continue
        commands = sum(1 for line in part if PROMPT.match(line))
        end, seen = start + 1, int(bool(PROMPT.match(part[0])))
        while end < len(printed) and not (PROMPT.match(printed[end]) and seen >= commands):
            seen += bool(PROMPT.match(printed[end]))
            end += 1
        out.extend(printed[start:end])
    return out


def update(readme: str, transcripts: dict[tuple[str, str], str]) -> str:
    """README text with the console transcript blocks of `transcripts` (by script and instant) regenerated."""
    lines = readme.splitlines()
    for block in reversed(blocks(lines)):
        if (block.script, block.at) not in transcripts:
            continue
        printed = transcripts[(block.script, block.at)].splitlines()
        lines[block.start:block.end] = regenerate(lines[block.start:block.end], printed)
    return "\n".join(lines) + ("\n" if readme.endswith("\n") else "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="only say whether README.md is up to date")
    args = parser.parse_args(argv)
    path = ROOT / "README.md"
    readme = path.read_text(encoding="utf-8")
    wanted = {(b.script, b.at) for b in blocks(readme.splitlines())}
    new = update(readme, {key: run_script(*key) for key in sorted(wanted)})
    if new == readme:
        print(f"README.md: {len(wanted)} console transcript(s) up to date")
        return 0
    if args.check:
        print("README.md: console transcripts are out of date; run python -m bot.console.readme_transcripts")
        return 1
    path.write_text(new, encoding="utf-8")
    print(f"README.md: {len(wanted)} console transcript(s) regenerated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
