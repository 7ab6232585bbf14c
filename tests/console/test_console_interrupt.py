"""Ctrl-C in the console on real time (`make run`): a real SIGINT ends a `/wait`, not the console.

The console runs as a subprocess on a pseudo-terminal, as in a shell; the test reads its output
until the text it expects appears (with a deadline, never a fixed sleep) and signals the process.
"""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

SWITCHMAN = Path(sys.executable).with_name("switchman")
PROMPT = "alice in #api-releases> "
DEADLINE = 60.0


class Terminal:
    """The console on a pty: type lines, signal it, and read until a text shows up."""

    def __init__(self, cwd: Path) -> None:
        self.master, slave = pty.openpty()
        env = {"PATH": "/usr/bin:/bin", "HOME": str(cwd)}  # no Slack tokens, no config: the example, real time
        self.process = subprocess.Popen([str(SWITCHMAN), "console"], cwd=cwd, env=env, stdin=slave, stdout=slave,
                                        stderr=slave, close_fds=True)
        os.close(slave)
        self.output = ""
        self.seen = 0  # how far `expect` has read
        self.ended = False  # the console closed its terminal

    def type(self, line: str) -> None:
        os.write(self.master, (line + "\n").encode())

    def interrupt(self) -> None:
        self.process.send_signal(signal.SIGINT)

    def expect(self, text: str) -> str:
        """Read until `text` appears after what was expected before; returns the output up to it."""
        deadline = time.monotonic() + DEADLINE
        while text not in self.output[self.seen:]:
            left = deadline - time.monotonic()
            if left <= 0 or self.ended:
                raise AssertionError(f"{text!r} did not appear; the console printed:\n{self.output[self.seen:]}")
            if self._readable(left):
                self._read()
        end = self.output.index(text, self.seen) + len(text)
        shown, self.seen = self.output[self.seen:end], end
        return shown

    def _readable(self, timeout: float) -> bool:
        return bool(select.select([self.master], [], [], timeout)[0])

    def _read(self) -> None:
        try:
            chunk = os.read(self.master, 65536)
        except OSError:  # EIO: the other side closed, the process ended
            chunk = b""
        self.ended = not chunk
        self.output += chunk.decode(errors="replace").replace("\r\n", "\n")

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=DEADLINE)
        os.close(self.master)


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[Terminal]:
    term = Terminal(tmp_path)
    try:
        yield term
    finally:
        term.close()


def test_ctrl_c_ends_a_wait_and_returns_to_the_prompt(terminal: Terminal) -> None:
    first_screen = terminal.expect(PROMPT)
    assert "api (#api-releases, provider sandbox): staging, production" in first_screen

    terminal.type("/wait 10m")
    terminal.expect("(time passes: 10m; Ctrl-C ends the wait)")
    terminal.interrupt()
    ended = terminal.expect(PROMPT)
    assert "(wait ended by Ctrl-C after " in ended and " of 10m)" in ended

    terminal.type("/who")  # the console is still there, and answers
    assert "@carol      U0CAROL      Europe/London    @sre" in terminal.expect(PROMPT)
    assert terminal.process.poll() is None


def test_ctrl_c_at_the_prompt_still_leaves_the_console(terminal: Terminal) -> None:
    terminal.expect(PROMPT)
    terminal.type("/wait 1s")  # a wait that ends by itself puts the console's own Ctrl-C handling back
    terminal.expect(PROMPT)

    terminal.interrupt()
    terminal.type("")  # the line being read at the prompt ends; then the console exits
    assert terminal.process.wait(timeout=DEADLINE) == 130
