"""The §11 verdicts and the "Slack ack latency" section of docs/benchmarks.md.

The section is regenerated on every run; the rest of the file (other benchmarks, notes under
other `## ` headings) is kept as it is.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from bench.wrk import WrkResult

SECTION_TITLE = "Slack ack latency"
WIDTH = 104  # prose lines of the generated section
P50_TARGET_MS = 1.0  # §11: Switchman acks in under 1 ms p50 at one connection
P99_FACTOR = 1.5  # §11: …and within 1.5× of the inline Bolt app's p99 at 50 connections
REQUEST_TITLES = {"command": "`/deploy help` (slash command)",
                  "deploy": "`/deploy api to staging` (slash command, a real release request)",
                  "oncall": "`/oncall api-oncall` (slash command)",
                  "click": "Button click (`block_actions`) on a release that does not exist",
                  "approve": "Approve click (`block_actions`) on a release waiting for approval",
                  "alert": "Alertmanager webhook (`POST /webhooks/alertmanager`)"}
# How each kind is named in the verdicts.
REQUEST_NAMES = {"command": "`/deploy help`", "deploy": "`/deploy api to staging`", "oncall": "`/oncall`",
                 "click": "click (unknown release)", "approve": "Approve click (waiting release)",
                 "alert": "Alertmanager webhook"}
# The server each kind's ratios compare with: inline Bolt, except for the webhook, which Bolt does not serve.
REFERENCE = {"alert": "raw"}
ROUND_ROBIN = ("wrk sends 500 signed bodies round-robin on each connection, so within one pass no two requests are "
               "the same invocation; each later pass re-sends the same bodies (same trigger ids), which Switchman "
               "treats as Slack re-delivering an invocation it has seen: merged into the unit still in its "
               "interaction lane, or answered from `handled_requests` without acting again. Those are merged "
               "duplicates by design, not new work. Each run has fresh trigger ids, so no run repeats another's.")
REQUEST_NOTES = {
    "command": "Switchman parses the text and acks with the usage; nothing is left for the background. The "
               "reference apps ack with the same JSON without parsing anything.",
    "deploy": "A real release request on the example config's `api` → staging (sandbox provider, its gates), by 500 "
              "different people. Switchman parses and checks the target, acks with \"Requesting …\" and leaves "
              "the request to its interaction lane: the first request of a run creates a release and starts it, the "
              "next ones queue behind it (one release in flight per environment), and each requester is told "
              "through the response_url. The ack never waits for that work or for the release. The reference apps "
              "ack with `/deploy help`'s JSON. " + ROUND_ROBIN,
    "oncall": "The next shifts of the example config's rotation, asked by 500 different people. The reference apps "
              "ack it empty (the raw one with the usage JSON). Switchman acks it empty, then its interaction lane "
              "reads the rotation and answers through the response_url. " + ROUND_ROBIN,
    "click": "A click on Approve (`release_approve`) of release #999999, which does not exist, by 500 different "
             "people. The reference apps only ack. Switchman acks, then its interaction lane (at most 4 at once, "
             "256 waiting, decision 0009) looks the release up and tells the clicker through the response_url, or "
             "tells them it is busy when the lane is full. wrk sends the next click as soon as an ack arrives, so "
             "that work competes with the acks that follow. " + ROUND_ROBIN,
    "approve": "A click on Approve of a real production release waiting for approval (requested before the runs; "
               "its gate needs 10 approvals from @sre, so it keeps waiting), by 500 different people: the first 9 "
               "are in @sre, and their votes are recorded (ledger entry, gate result, a note in the release "
               "thread); the other 491 are told that only members of @sre may approve, and nothing changes. "
               + ROUND_ROBIN.replace("merged into the unit", "merged (same person, same button) into the unit"),
    "alert": "Alertmanager's webhook (version 4) with one firing alert for the rotation `api-oncall`, with the "
             "configured shared secret as bearer token. Switchman answers once the alert and its page are stored "
             "(§6: \"an accepted request answers once its state is stored\"); Slack is told in the background. 20 "
             "distinct alert groups per run, sent in turn: the first notification of each opens a page, every "
             "later one is Alertmanager repeating a group already paged and is deduplicated onto that page (by "
             "design). The raw handler checks only the bearer token; Bolt serves no webhooks. §11's bars are for "
             "Slack commands and clicks, so this has no verdict, only the ratio to the raw handler.",
}


@dataclass(frozen=True)
class ServerSpec:
    key: str
    label: str
    spec_p50_ms: float | None  # the p50 at one connection that §11 quotes for this kind of server


@dataclass(frozen=True)
class Background:
    """Switchman's background work after a run: what wrk's requests left it to do."""

    pending_at_end: int | None  # tasks in flight when wrk stopped (None: the gauge could not be read)
    drained_in_s: float | None  # None: not finished within the wait, so it was dropped by a restart
    errors_logged: int  # error lines Switchman logged during the run and the wait
    # What the interaction lane did in the run (its "lane idle after a burst" log lines): units started,
    # merged, refused, and refused without even a busy answer. None: it refused nothing (or is absent).
    lane: dict[str, int] | None = None

    def describe(self) -> str:
        pending = "?" if self.pending_at_end is None else f"{self.pending_at_end:,}"
        drained = (f"done {self.drained_in_s:.1f} s later" if self.drained_in_s is not None
                   else "not done within the wait (dropped: Switchman restarts before its next run)")
        return (f"{pending} tasks pending when wrk stopped, {drained}; {self.errors_logged} errors logged; "
                f"lane: {self.lane_summary()}")

    def lane_summary(self) -> str:
        if self.lane is None:
            return "(lane metrics not readable)"
        lane = self.lane
        answered_busy = lane["refused"] - lane["unanswered"]
        return (f"{lane['started']:,} started, {lane['merged']:,} merged, {lane['refused']:,} refused "
                f"({answered_busy:,} told busy, {lane['unanswered']:,} not answered)")


@dataclass(frozen=True)
class Measurement:
    server: ServerSpec
    kind: str  # "command", "oncall" or "click"
    result: WrkResult
    cpu_us_per_request: float | None = None  # the server process's CPU time (all its threads) per answer
    background: Background | None = None  # Switchman only


@dataclass(frozen=True)
class Verdict:
    bar: str
    measured: str
    passed: bool | None  # None: could not be judged (e.g. clicks not measurable yet)


@dataclass(frozen=True)
class RunReport:
    command: str
    started: datetime
    machine: list[tuple[str, str]]
    duration_s: int
    warmup_s: int
    wrk_commands: list[str]
    placement: str
    measurements: list[Measurement]
    click_note: str | None
    verdicts: list[Verdict]


def find(measurements: list[Measurement], server: str, kind: str, connections: int) -> WrkResult | None:
    for m in measurements:
        if m.server.key == server and m.kind == kind and m.result.connections == connections:
            return m.result
    return None


def verdicts(measurements: list[Measurement], kinds: list[str], click_note: str | None) -> list[Verdict]:
    """The two §11 bars for each kind of Slack request measured; the webhook's ratio, without a bar."""
    out: list[Verdict] = []
    for kind in REQUEST_TITLES:
        what = REQUEST_NAMES[kind]
        if kind not in kinds:
            continue
        one = find(measurements, "switchman", kind, 1)
        fifty = find(measurements, "switchman", kind, 50)
        reference = REFERENCE.get(kind, "bolt-inline")
        inline = find(measurements, reference, kind, 50)
        inline_one = find(measurements, reference, kind, 1)
        if kind == "alert":
            if fifty is not None and inline is not None and one is not None and inline_one is not None:
                out.append(Verdict(f"Switchman {what} (no §11 bar: it answers once its state is stored)",
                                   f"p50 at 1 connection {_ms(one.p50_ms)} ({one.p50_ms / inline_one.p50_ms:.1f}× the "
                                   f"raw handler); p99 at 50 connections {_ms(fifty.p99_ms)} "
                                   f"({fifty.p99_ms / inline.p99_ms:.1f}× the raw handler)", None))
            continue
        if one is not None:
            ratio = (f" ({one.p50_ms / inline_one.p50_ms:.2f}× inline Bolt's {_ms(inline_one.p50_ms)})"
                     if inline_one else "")
            out.append(Verdict(f"Switchman {what} p50 at 1 connection < {P50_TARGET_MS:g} ms",
                               f"{_ms(one.p50_ms)}{ratio}", one.p50_ms < P50_TARGET_MS))
        if fifty is not None and inline is not None:
            limit = P99_FACTOR * inline.p99_ms
            out.append(Verdict(f"Switchman {what} p99 at 50 connections ≤ {P99_FACTOR:g} × inline Bolt p99",
                               f"{_ms(fifty.p99_ms)} vs {P99_FACTOR:g} × {_ms(inline.p99_ms)} = {_ms(limit)} "
                               f"({fifty.p99_ms / inline.p99_ms:.2f}× inline Bolt)",
                               fifty.p99_ms <= limit))
    return out


def render(report: RunReport) -> str:
    lines = [
        f"## {SECTION_TITLE}",
        "",
        "Time from a signed Slack request to the HTTP answer that acks it, as wrk sees it over loopback,",
        "for Switchman and for the three reference servers of PRODUCT.md §11. Generated by `bench/` —",
        "run it again rather than editing this section by hand.",
        "",
        f"- **Command:** `{report.command}`" + (" (`make bench`)" if report.command.endswith(" bench") else ""),
        f"- **Date:** {report.started.strftime('%Y-%m-%d %H:%M %Z')} (system clock)",
        *[f"- **{name}:** {value}" for name, value in report.machine],
        f"- **Runs:** for each server and request, a {report.warmup_s} s warm-up at the same concurrency, then",
        *[f"  `{cmd}`" for cmd in report.wrk_commands],
        f"- **CPU placement:** {report.placement}",
        "- **Servers:** each its own process on 127.0.0.1, one event loop, no access log. Before any load,",
        "  every server answered `/deploy help` with HTTP 200 (with the same body as Switchman) and a bad",
        "  signature with 401, and every other request with 200, and Switchman logged no error; every wrk run had",
        "  0 non-2xx answers and 0 socket errors (the benchmark stops otherwise). The Bolt apps and Switchman call",
        "  a fake Slack Web API (`bot.slack_sim`, another process, its workspace seeded from Switchman's config)",
        "  for the one `auth.test` Bolt makes on the first request, and Switchman sends its after-ack answers,",
        "  release threads and pages there; nothing reaches Slack.",
        "- **Switchman's config:** the example config (`bot/examples/switchman.yml`: sandbox provider, staging's",
        "  gates as they are), with production's gates cut to ci_green, not_locked and an approval by 10 of @sre,",
        "  so that the release the Approve clicks approve waits for approval (`bench/ack_latency.py`",
        "  `bench_config`); SQLite in a temporary directory; the webhook's shared secret set.",
        "- **Server CPU per request:** the server process's user + system CPU time (all its threads, from",
        "  /proc) over the measured run, divided by the requests answered: background work done during the",
        "  run is included, so it shows work that the ack latency alone hides.",
        "",
    ]
    kinds = [k for k in REQUEST_TITLES if any(m.kind == k for m in report.measurements)]
    for kind in kinds:
        lines += [f"### {REQUEST_TITLES[kind]}", "", textwrap.fill(REQUEST_NOTES[kind], WIDTH), "",
                  _table(report.measurements, kind), ""]
    if report.click_note:
        lines += [f"### {REQUEST_TITLES['click']}", "", textwrap.fill(f"Not measured: {report.click_note}", WIDTH), ""]
    background = [m for m in report.measurements if m.background is not None]
    if background:
        lines += ["### Switchman's background work", "",
                  "What was still to do when wrk stopped (the `switchman_background_tasks` gauge, which counts the",
                  "interaction lane's queue too), and whether it finished within the benchmark's wait (Switchman is",
                  "restarted otherwise, so the next run starts clean; the warm-up's backlog is drained or dropped the",
                  "same way before each measured run). After `/deploy api to staging` the release engine keeps working",
                  "(each release runs its sandbox pipeline, the next one in line then starts), so those runs never",
                  "finish within the wait, by design. The lane column is the difference of Switchman's",
                  "`switchman_interaction_lane_*` counters over the run: units refused because the lane's queue was",
                  "full were not acted on (nothing changed), and were told so while at most 32 such answers were in",
                  "flight; merged units are duplicates of a unit still queued or running (see each request above).",
                  "",
                  "| request | connections | tasks pending when wrk stopped | finished after | errors logged "
                  "| interaction lane (decision 0009) |",
                  "|---|---:|---:|---:|---:|---|"]
        for m in background:
            b = m.background
            assert b is not None
            pending = "?" if b.pending_at_end is None else f"{b.pending_at_end:,}"
            drained = f"{b.drained_in_s:.1f} s" if b.drained_in_s is not None else "not within the wait"
            lines.append(f"| {m.kind} | {m.result.connections} | {pending} | {drained} | {b.errors_logged} "
                         f"| {b.lane_summary()} |")
        lines.append("")
    lines += ["### §11 verdicts", "", "| bar | measured | verdict |", "|---|---|---|"]
    for v in report.verdicts:
        verdict = "n/a" if v.passed is None else ("**pass**" if v.passed else "**FAIL**")
        lines.append(f"| {v.bar} | {v.measured} | {verdict} |")
    lines.append("")
    return "\n".join(lines)


def publish(section: str, output: Path, title: str, *, no_write: bool) -> None:
    """Print the section (`--no-write`) or rewrite its `## title` in `output`, saying which."""
    if no_write:
        print("\n" + section)
    else:
        write_section(output, section, title)
        print(f"wrote the '{title}' section of {output}")


def write_section(path: Path, section: str, title: str = SECTION_TITLE) -> None:
    """Replace the `## title` section in `path` (creating the file when missing), keeping everything else."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("# Benchmarks\n\nMeasurements of Switchman against the bars of PRODUCT.md §11.\n\n"
                        + section)
        return
    text = path.read_text()
    heading = re.compile(rf"^## {re.escape(title)}[ \t]*$", re.MULTILINE)
    found = heading.search(text)
    if found is None:
        path.write_text(text.rstrip("\n") + "\n\n" + section)
        return
    following = re.compile(r"^## ", re.MULTILINE).search(text, found.end())
    end = following.start() if following else len(text)
    rest = text[end:]
    path.write_text(text[: found.start()] + section + ("\n" + rest if rest else ""))


def _table(measurements: list[Measurement], kind: str) -> str:
    reference = REFERENCE.get(kind, "bolt-inline")
    against = "raw handler" if reference == "raw" else "inline Bolt"
    rows = ["| server | connections | p50 | p90 | p99 | req/s | server CPU per request | §11 p50, 1 connection "
            f"| p50 ÷ {against} | p99 ÷ {against} |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for m in measurements:
        if m.kind != kind:
            continue
        r = m.result
        spec = ""
        if r.connections == 1:
            if m.server.key == "switchman":
                spec = f"< {P50_TARGET_MS:g} ms (target)" if kind != "alert" else ""
            elif m.server.spec_p50_ms is not None:
                spec = _ms(m.server.spec_p50_ms)
        cpu = "" if m.cpu_us_per_request is None else f"{m.cpu_us_per_request:,.0f} µs"
        base = find(measurements, reference, kind, r.connections)
        p50_ratio = f"{r.p50_ms / base.p50_ms:.2f}×" if base else ""
        p99_ratio = f"{r.p99_ms / base.p99_ms:.2f}×" if base else ""
        rows.append(f"| {m.server.label} | {r.connections} | {_ms(r.p50_ms)} | {_ms(r.p90_ms)} | {_ms(r.p99_ms)} "
                    f"| {r.requests_per_s:,.0f} | {cpu} | {spec} | {p50_ratio} | {p99_ratio} |")
    return "\n".join(rows)


def _ms(value: float) -> str:
    if value >= 100:
        return f"{value:.0f} ms"
    if value >= 10:
        return f"{value:.1f} ms"
    return f"{value:.2f} ms" if value >= 1 else f"{value:.3f} ms"
