"""Benchmarks of Switchman against reference apps (§11): `python -m bench` or `make bench`.

`bench.ack_latency` drives four servers (a raw aiohttp handler, a bare async Bolt app with its
default runner, the same app with `process_before_response=True`, and `switchman serve`) with
wrk, one signed Slack request at a time, and writes the numbers to `docs/benchmarks.md`.
"""
