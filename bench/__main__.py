"""`python -m bench [--only ack|evidence] [options]`: every benchmark in turn, or one of them.

- `ack`: Slack ack latency against the reference servers (`bench.ack_latency`);
- `evidence`: release metrics and export over generated histories (`bench.evidence`);
- `gates`: gate fan-out, 8 slow `http` gates together against the slowest alone (`bench.gate_fanout`);
- `thread`: a release's posts under Slack's per-channel limit against the floor (`bench.thread_throughput`);
- `startup`: time to ready with 1,000 rotations and 100 in-flight releases to resume (`bench.startup`);
- `weblog`: p95 of the web release log's list and release pages over 100k releases (`bench.weblog`);
- `scale`: 1,000 releases polling a fake CI and 1,000 rotations in one `switchman serve` (`bench.inflight_scale`);
- `takeover`: several replicas on PostgreSQL, time until a survivor leads after SIGKILL (`bench.leader_takeover`).

Each writes its own section of docs/benchmarks.md. Options after `--only NAME` are that benchmark's
(`python -m bench --only evidence --help`); without `--only`, only the options both understand
(`--quick`, `--output`, `--no-write`) may be given, and each benchmark gets them.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence

from bench import (
    ack_latency,
    evidence,
    gate_fanout,
    inflight_scale,
    leader_takeover,
    startup,
    thread_throughput,
    weblog,
)

BENCHMARKS: dict[str, Callable[[list[str], list[str]], int]] = {
    "ack": lambda rest, shown: ack_latency.main(rest, shown=shown),
    "evidence": lambda rest, shown: evidence.main(rest, shown=shown),
    "gates": lambda rest, shown: gate_fanout.main(rest, shown=shown),
    "thread": lambda rest, shown: thread_throughput.main(rest, shown=shown),
    "startup": lambda rest, shown: startup.main(rest, shown=shown),
    "weblog": lambda rest, shown: weblog.main(rest, shown=shown),
    "scale": lambda rest, shown: inflight_scale.main(rest, shown=shown),
    "takeover": lambda rest, shown: leader_takeover.main(rest, shown=shown),
}
SHARED = ("--quick", "--no-write", "--output")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", add_help=False)
    parser.add_argument("--only", choices=sorted(BENCHMARKS))
    given = list(sys.argv[1:] if argv is None else argv)
    args, rest = parser.parse_known_args(given)
    if args.only is not None:
        return BENCHMARKS[args.only](rest, given)
    if any(arg in ("-h", "--help") for arg in rest):
        print(__doc__)
        return 0
    unshared = [arg for arg in rest if arg.startswith("-") and arg.split("=")[0] not in SHARED]
    if unshared:
        print(f"python -m bench: {unshared[0]} belongs to one benchmark: give --only NAME ({', '.join(BENCHMARKS)}) "
              f"before it (without --only, only {', '.join(SHARED)} are accepted)", file=sys.stderr)
        return 2
    worst = 0
    took: list[tuple[str, float]] = []
    began = time.monotonic()
    for name, run in BENCHMARKS.items():
        print(f"== {name} ==", file=sys.stderr, flush=True)
        section_began = time.monotonic()
        worst = max(worst, run(rest, given))
        took.append((name, time.monotonic() - section_began))
        print(f"== {name}: {took[-1][1]:.0f} s ==", file=sys.stderr, flush=True)
    total = time.monotonic() - began
    print("time per benchmark: " + ", ".join(f"{name} {seconds:.0f} s" for name, seconds in took)
          + f"; {total / 60:.1f} min in all", file=sys.stderr, flush=True)
    return worst


if __name__ == "__main__":
    sys.exit(main())
