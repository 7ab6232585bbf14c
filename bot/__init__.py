"""Switchman: release, roll back and carry the pager from Slack.

`bot/` owns the domain (releases, gates, on-call, ledger) and its adapters (Slack Web API,
CI/CD providers, storage, HTTP server, console). Slack listeners live in `handlers/`.
"""
