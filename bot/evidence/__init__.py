"""Release evidence for teams and auditors (§8): delivery and confidence metrics from the stored history.

`metrics.compute` reads releases and ledger rows a batch at a time and returns figures; it knows
nothing of Slack. The definitions are written out in `docs/metrics.md`.
"""
