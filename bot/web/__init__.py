"""The HTTP surface of `switchman serve`: Slack events, health, readiness, metrics, webhooks."""
