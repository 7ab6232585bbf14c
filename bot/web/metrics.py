"""Prometheus metrics of one Switchman process, on a registry of its own (no global state)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from bot.background import BackgroundTasks

CONTENT_TYPE = CONTENT_TYPE_LATEST


class Metrics:
    def __init__(self, background: BackgroundTasks) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.http_requests = Counter(
            "switchman_http_requests", "HTTP requests answered, by route and status.",
            ["route", "status"], registry=self.registry,
        )
        self.slack_ack_seconds = Histogram(
            "switchman_slack_ack_seconds", "Time from receiving a Slack request to answering it.",
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25, 1, 3), registry=self.registry,
        )
        # Inbound pages (§6): counters are exposed with a `_total` suffix.
        self.webhooks_received = Counter(
            "switchman_webhooks_received", "Inbound webhook deliveries, by source (alertmanager, events, heartbeat).",
            ["source"], registry=self.registry,
        )
        self.webhooks_rejected = Counter(
            "switchman_webhooks_rejected", "Inbound webhook deliveries refused, by source and reason; none stored.",
            ["source", "reason"], registry=self.registry,
        )
        self.alerts_unrouted = Counter(
            "switchman_alerts_unrouted", "Alerts no rotation claims (sent to fallback_rotation or unrouted_channel).",
            registry=self.registry,
        )
        background_pending = Gauge(
            "switchman_background_tasks", "Background tasks in flight.", registry=self.registry,
        )
        background_pending.set_function(lambda: background.pending)
        background_failures = Gauge(
            "switchman_background_task_failures", "Background tasks that failed since start.",
            registry=self.registry,
        )
        background_failures.set_function(lambda: background.failures)

    def render(self) -> bytes:
        return generate_latest(self.registry)
