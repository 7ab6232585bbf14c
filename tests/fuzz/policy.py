"""How much the fuzz tests try, and why the same examples run on every machine.

Every fuzz test uses `FUZZ` (or `fuzz(n)` for its own budget):

- `derandomize=True`: hypothesis seeds each test from a digest of the test itself, so CI, a laptop and a
  re-run all try the same examples; a failure found once is found every time, and a green run stays
  green until the code or the test changes. Randomised exploration belongs in a local session
  (`pytest --hypothesis-seed=random tests/fuzz`), not in a gate.
- `database=None`: nothing is read from or written to `.hypothesis/`, so a failure that some earlier run
  saved cannot make one machine's run differ from another's.
- a fixed `max_examples` per test, sized so the whole folder — the wire tests once on SQLite and once
  on PostgreSQL — runs in about 30 s on one core (a wire example costs a signed HTTP round trip, a
  settle and two row counts; a parser example almost nothing); `deadline=None` because a loaded CI
  machine is slow, not wrong. Raise a budget locally to search harder, not in CI.
- the wire tests share one running stack per module (`bed.py`), and the near-valid strategies draw a
  lot, so the health checks about slow or large data generation are suppressed.
"""

from __future__ import annotations

from hypothesis import HealthCheck, settings

SUPPRESSED = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]


def fuzz(max_examples: int) -> settings:
    return settings(max_examples=max_examples, deadline=None, derandomize=True, database=None,
                    suppress_health_check=SUPPRESSED, print_blob=False)


FUZZ = fuzz(100)
