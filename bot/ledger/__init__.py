"""The decision ledger: append-only, hash-chained record of every decision (§3)."""
