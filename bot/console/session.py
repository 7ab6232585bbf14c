"""`switchman console`: chat with the real app as any user, in a terminal or from a script (§10).

Lines starting with `/deploy`, `/rollback` or `/oncall` are sent as slash commands; console
directives steer who you are and where you type:

    /as @bob           be somebody else        /in #api-oncall    type in another channel
    press 3            press button 3           press Approve     the latest button labelled so
    fill 5 some text   fill input 5 of a modal  submit            submit the open modal
    /who               people and their groups  /wait [10m]       let work finish (and time pass)
    /alert fire api "error ratio high"          /alert resolve api  play Alertmanager for a service
    /help              this text                /quit             leave

Ctrl-C during a /wait ends the wait; at the prompt it leaves the console.
"""

from __future__ import annotations

import asyncio
import re
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bot.config.durations import DurationError, format_duration, parse_duration
from bot.console import alerts, form_choice
from bot.console.first_screen import first_screen, who
from bot.console.interrupt import interruptibly
from bot.console.transcript import PressTarget, Transcript
from bot.simulated_time import SettlingTime
from bot.slack.ids import Command
from bot.slack_sim.stack import Stack
from bot.slack_sim.workspace import SimEvent

CONSOLE_HELP = __doc__.split("\n\n", 1)[1].rstrip() if __doc__ else ""
SLASH_COMMANDS = {c.value for c in Command}


@dataclass
class ConsoleSession:
    stack: Stack
    out: Callable[[str], None] = print
    user: str = "U0ALICE"
    channel: str = ""
    transcript: Transcript = field(init=False)
    filled: dict[int, str] = field(default_factory=dict)
    problems: int = 0
    time: SettlingTime | None = None  # simulated time (`--at`): moved by the session, once the work has settled
    alert_desk: alerts.AlertDesk = field(default_factory=alerts.AlertDesk)
    webhook_url: str = ""  # where `/alert` posts: the app's own Alertmanager webhook unless given
    _edits: dict[tuple[str, str], SimEvent] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.transcript = Transcript(self.stack.workspace, viewer=lambda: self.user)
        if not self.channel:
            first = next(iter(self.stack.ctx.config.services.values()), None)
            self.channel = (self.stack.workspace.resolve_channel(first.channel).id  # type: ignore[union-attr]
                            if first else self.stack.workspace.add_channel("#general").id)
        self.stack.workspace.subscribers.append(self._show)
        if not self.webhook_url:
            self.webhook_url = self.stack.app_url.rsplit("/slack/", 1)[0] + alerts.ALERTMANAGER_PATH

    def _show(self, event: SimEvent) -> None:
        if event.kind == "update" and event.channel is not None and event.ts is not None:
            # Edits are sent as Slack allows, and several queued edits of one message go out as one, so
            # how many appear depends on timing: show each edited message once, as it ends up.
            self._edits[(event.channel, event.ts)] = event
            return
        for line in self.transcript.render(event):
            self.out(line)

    async def settle(self, *, until: datetime | None = None) -> None:
        """Let the work the last line started finish (and, on simulated time, the clock reach `until`)."""
        if self.time is not None:
            await self.time.settle(until=until)
        await self.stack.settle()
        edits, self._edits = self._edits, {}
        for event in edits.values():
            for line in self.transcript.render(event):
                self.out(line)

    @property
    def prompt(self) -> str:
        channel = self.stack.workspace.channels[self.channel].name
        return f"{self.transcript.user_name(self.user)} in #{channel}> "

    def banner(self) -> list[str]:
        return first_screen(self.stack.ctx.config, self.stack.workspace, user=self.user, channel=self.channel)

    async def handle(self, line: str) -> bool:
        """Run one input line; False when the session should end."""
        line = line.strip()
        if not line or line.startswith("#"):
            return True
        word, _, rest = line.partition(" ")
        if word in SLASH_COMMANDS:
            delivery = await self.stack.slack.slash_command(self.user, word, self._escape(rest),
                                                            channel=self.channel)
            if delivery.status != 200:
                self.problems += 1
                self.out(f"!! the app answered HTTP {delivery.status}: {delivery.body[:200]}")
            await self.settle()
            return True
        if word.isdigit() or word == "press":
            await self._press(rest if word == "press" else word)
            return True
        handlers = {"/as": self._as, "/in": self._in, "fill": self._fill, "submit": self._submit,
                    "/who": self._who, "/wait": self._wait, "/help": self._help, "/alert": self._alert}
        if word in ("/quit", "/exit"):
            return False
        if word in handlers:
            await handlers[word](rest)
        else:
            self.out(f"?? {word!r} is neither a slash command ({', '.join(sorted(SLASH_COMMANDS))}) nor a console "
                     "command; /help lists them")
        return True

    def _escape(self, text: str) -> str:
        """Typed `@name` becomes the mention Slack sends for it (the commands declare should_escape)."""
        def mention(match: re.Match[str]) -> str:
            name = match.group(1)
            user = self.stack.workspace.user_by_name(name)
            if user is not None:
                return f"<@{user.id}|{user.name}>"
            group = self.stack.workspace.usergroup(name)
            return f"<!subteam^{group.id}|@{group.handle}>" if group else match.group(0)

        return re.sub(r"(?<![<\w])@([\w.-]+)", mention, text)

    async def _as(self, rest: str) -> None:
        user = self.stack.workspace.user_by_name(rest.strip())
        if user is None or user.is_bot:
            self.out(f"?? nobody called {rest.strip()!r}; /who lists people")
            return
        self.user = user.id
        self.out(f"(you are now @{user.name}, {user.tz})")

    async def _in(self, rest: str) -> None:
        channel = self.stack.workspace.channel_by_name(rest.strip())
        if channel is None:
            names = ", ".join("#" + c.name for c in self.stack.workspace.channels.values() if not c.is_im)
            self.out(f"?? no channel {rest.strip()!r}; channels: {names}")
            return
        self.channel = channel.id
        self.out(f"(typing in #{channel.name})")

    async def _press(self, rest: str) -> None:
        wanted = rest.strip()
        if wanted.isdigit():
            target = self.transcript.targets.get(int(wanted))
        else:  # by label: the most recent button that reads so, among those you can see if any
            labelled = [t for _, t in sorted(self.transcript.targets.items(), reverse=True)
                        if t.interactive.label.lower().rstrip("…") == wanted.lower().rstrip("…")]
            target = next((t for t in labelled if self._sees(t)), labelled[0] if labelled else None)
        if target is None:
            self.out(f"?? there is no button {wanted!r} on screen")
            return
        item = target.interactive
        if item.url:
            self.out(f"(opens {item.url})")
            return
        if target.message is None:
            self.out("?? buttons inside modals are not pressable from the console yet; use fill and submit")
            return
        delivery = await self.stack.slack.block_action(
            self.user, target.message, action_id=item.action_id, block_id=item.block_id, value=item.value,
            element_type=item.kind)
        if delivery.status != 200:
            self.problems += 1
            self.out(f"!! the app answered HTTP {delivery.status}: {delivery.body[:200]}")
        await self.settle()

    def _sees(self, target: PressTarget) -> bool:
        """Whether you could see the button: not in somebody else's DM."""
        channel = self.stack.workspace.channels.get(target.message.channel) if target.message else None
        return channel is None or not channel.is_im or channel.im_user == self.user

    async def _fill(self, rest: str) -> None:
        number, _, value = rest.strip().partition(" ")
        if not number.isdigit() or int(number) not in self.transcript.inputs:
            self.out(f"?? there is no input {number!r} on screen")
            return
        field_ = self.transcript.numbering.get_input(int(number))
        if field_ is not None and field_.kind in form_choice.SELECTS and field_.options:
            chosen = form_choice.choose(field_, value.strip())  # by its label, not the value behind it
            if isinstance(chosen, str):
                self.out(f"?? {chosen}")
                return
            self.filled[int(number)] = chosen[1]
            self.out(f"(input {number} = {chosen[0]!r})")
            return
        self.filled[int(number)] = value.strip()
        self.out(f"(input {number} = {value.strip()!r})")

    async def _submit(self, _: str) -> None:
        if not self.filled:
            self.out("?? fill an input first: fill N value")
            return
        view_id = self.transcript.inputs[next(iter(self.filled))]
        values: dict[str, dict[str, Any]] = {}
        for number, value in self.filled.items():
            field_ = self.transcript.numbering.get_input(number)
            if field_ is None or self.transcript.inputs.get(number) != view_id:
                continue
            state: dict[str, Any] = {"type": field_.kind}
            if field_.kind in ("static_select", "external_select"):
                state["selected_option"] = {"text": {"type": "plain_text", "text": form_choice.label_of(field_, value)},
                                            "value": value}
            else:
                state["value"] = value
            values.setdefault(field_.block_id or "", {})[field_.action_id] = state
        self.filled.clear()
        delivery = await self.stack.slack.view_submission(self.user, view_id, values)
        if delivery.status != 200:
            self.problems += 1
            self.out(f"!! the app answered HTTP {delivery.status}: {delivery.body[:200]}")
        elif delivery.body:
            self.out(f"(the form answered: {delivery.body[:300]})")
        await self.settle()

    async def _who(self, _: str) -> None:
        for line in who(self.stack.workspace):
            self.out(line)

    async def _alert(self, rest: str) -> None:
        """Fire or resolve an alert through the app's Alertmanager webhook, as Alertmanager would."""
        try:
            action, service, summary = alerts.parse(rest, list(self.stack.ctx.config.services))
        except alerts.AlertUsage as exc:
            self.out(str(exc))
            return
        secret = self.stack.ctx.settings.webhook_secret
        if not secret:
            self.out("?? the Alertmanager webhook is disabled: SWITCHMAN_WEBHOOK_SECRET is not set")
            return
        now = self.stack.ctx.clock.now()
        sending = ([alerts.ConsoleAlert(service, alerts.alertname_for(summary), summary, now)] if action == "fire"
                   else self.alert_desk.firing_for(service))
        if not sending:
            self.out(f"?? no alert fired from the console is firing for {service}; "
                     f'/alert fire {service} "summary" fires one')
            return
        status = "firing" if action == "fire" else "resolved"
        for alert in sending:  # one notification per alert group, as Alertmanager sends them
            try:
                self.out(await alerts.deliver(self.webhook_url, secret, alert, status=status, now=now))
            except alerts.NotDelivered as exc:
                self.problems += 1
                self.out(f"!! {exc}")
                continue
            self.alert_desk.delivered(alert, status)
        await self.settle()

    async def _wait(self, rest: str) -> None:
        """`/wait` lets background work finish; `/wait 10m` also lets that much time pass."""
        if rest.strip():
            try:
                delta = parse_duration(rest.strip())
            except DurationError as exc:
                self.out(f"?? /wait {rest.strip()}: {exc}")
                return
            if self.time is not None:
                self.out(f"(time passes: {format_duration(delta)})")
                await self.settle(until=self.time.now() + delta)
                return
            started = self.stack.ctx.clock.now()

            async def passing() -> None:  # says so once Ctrl-C is taken over, so a Ctrl-C after it ends the wait
                self.out(f"(time passes: {format_duration(delta)}; Ctrl-C ends the wait)")
                await self.stack.ctx.sleep(delta.total_seconds())

            if not await interruptibly(passing()):
                waited = timedelta(seconds=round((self.stack.ctx.clock.now() - started).total_seconds()))
                self.out(f"(wait ended by Ctrl-C after {format_duration(waited)} of {format_duration(delta)})")
        await self.settle()

    async def _help(self, _: str) -> None:
        self.out(CONSOLE_HELP)


async def script_lines(path: str) -> AsyncIterator[str]:
    text = await asyncio.to_thread(Path(path).read_text, encoding="utf-8")
    for line in text.splitlines():
        yield line


async def terminal_lines(prompt: Callable[[], str]) -> AsyncIterator[str]:
    while True:
        try:
            line = await asyncio.to_thread(input, prompt())
        except EOFError:
            return
        yield line


async def run_session(session: ConsoleSession, lines: AsyncIterator[str], *, echo: bool) -> int:
    """Feed lines to the session; returns the exit status (non-zero if the app failed somewhere)."""
    for line in session.banner():
        session.out(line)
    async for line in lines:
        if echo and line.strip():
            session.out(f"{session.prompt}{line}")
        if not await session.handle(line):
            break
    await session.settle()
    failures = session.stack.ctx.background.failures + len(session.stack.api.violations)
    for violation in session.stack.api.violations:
        session.out(f"!! Slack would have rejected: {violation}")
    return 1 if failures or session.problems else 0


def stdout_writer(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()
