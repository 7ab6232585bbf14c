"""Prometheus metrics of one Switchman process, on a registry of its own (no global state).

Counters are exposed with the `_total` suffix. Pages: opened, acknowledged, escalated and resolved
by rotation, and the time from opening to the ack; notifications (SMS, voice, email) sent and failed
by method. The outbox's depth is read from the database when scraped (`refresh`), and Slack's 429s
are the outbox sender's own count. The interaction lane's counts (decision 0009: running, queued,
started, merged duplicates, refused) are read from the lane when scraped, so the ack path pays nothing.
"""

from __future__ import annotations

import gc
from collections.abc import Awaitable, Callable, Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector

from bot.background import BackgroundTasks
from bot.interaction_lane import InteractionLane

if TYPE_CHECKING:
    from prometheus_client.metrics_core import Metric

CONTENT_TYPE = CONTENT_TYPE_LATEST
PAGE_EVENTS = ("opened", "acknowledged", "escalated", "resolved")
# From a page opening to its ack: seconds to an hour and beyond, around the usual 5 min ack_within.
ACK_BUCKETS = (10, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200)
Refresh = Callable[[], Awaitable[None]]


class _CountedBy(Collector):
    """A counter whose value something else keeps (the outbox sender counts its 429s)."""

    def __init__(self, name: str, documentation: str, read: Callable[[], float]) -> None:
        self.name, self.documentation, self.read = name, documentation, read

    def collect(self) -> Iterator[Metric]:
        yield CounterMetricFamily(self.name, self.documentation, value=self.read())


class _LaneCollector(Collector):
    """The interaction lane's own counts, read at scrape time (plain integers the lane keeps anyway)."""

    def __init__(self, lane: InteractionLane) -> None:
        self.lane = lane

    def collect(self) -> Iterator[Metric]:
        lane, counts = self.lane, self.lane.counts
        yield GaugeMetricFamily("switchman_interaction_lane_running",
                                "Interaction lane units running now (at most its workers).", value=lane.running)
        yield GaugeMetricFamily("switchman_interaction_lane_queued",
                                "Interaction lane units waiting for a worker (at most its queue limit).",
                                value=lane.queued)
        yield CounterMetricFamily("switchman_interaction_lane_started",
                                  "Interaction lane units started since the process started.", value=counts.started)
        yield CounterMetricFamily(
            "switchman_interaction_lane_merged",
            "Clicks and commands merged into an identical unit still queued or running (a double click, a "
            "re-delivery): one unit of work, not started again.", value=counts.merged)
        yield CounterMetricFamily(
            "switchman_interaction_lane_merged_unanswered",
            "Merged copies past the per-unit limit of copies told the unit's answer.", value=counts.merged_unanswered)
        yield CounterMetricFamily(
            "switchman_interaction_lane_refused",
            "Units refused because the lane's queue was full (back-pressure): not started, nothing changed.",
            value=counts.refused)
        yield CounterMetricFamily(
            "switchman_interaction_lane_refused_unanswered",
            "Refused units not even told Switchman is busy, because the limit of busy answers in flight was reached.",
            value=counts.unanswered)


class Metrics:
    def __init__(self, background: BackgroundTasks) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._refreshers: list[Refresh] = []
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
        frozen = Gauge(
            "switchman_gc_frozen_objects", "Objects made at start-up that the garbage collector no longer scans "
            "(bot/serve.py freeze_startup_heap).", registry=self.registry,
        )
        frozen.set_function(gc.get_freeze_count)
        self.pages = Counter(
            "switchman_pages", "Page events by rotation: opened, acknowledged, escalated (each level), resolved.",
            ["rotation", "event"], registry=self.registry,
        )
        self.time_to_ack = Histogram(
            "switchman_page_time_to_ack_seconds", "Time from a page opening to its acknowledgement, by rotation.",
            ["rotation"], buckets=ACK_BUCKETS, registry=self.registry,
        )
        self.notifications = Counter(
            "switchman_page_notifications", "SMS, calls and emails of pages, by method and outcome (sent, failed).",
            ["method", "outcome"], registry=self.registry,
        )
        self.leader = Gauge(
            "switchman_leader", "1 while this replica leads (runs the scheduler, the outbox sender, the sweep "
            "and the pipeline watchers), else 0.", registry=self.registry,
        )
        self.outbox_depth = Gauge(
            "switchman_outbox_pending_messages", "Messages waiting in the outbox to be sent to Slack.",
            registry=self.registry,
        )

    # --- what the domain reports ------------------------------------------------------------------
    def page_event(self, event: str, rotation: str) -> None:
        self.pages.labels(rotation, event).inc()

    def page_acknowledged(self, rotation: str, seconds: float) -> None:
        self.pages.labels(rotation, "acknowledged").inc()
        self.time_to_ack.labels(rotation).observe(max(seconds, 0.0))

    def notification(self, method: str, outcome: str) -> None:
        self.notifications.labels(method, outcome).inc()

    # --- wiring -----------------------------------------------------------------------------------
    def count_from(self, name: str, documentation: str, read: Callable[[], float]) -> None:
        """Expose `read()` as the counter `name` (shown as `name_total`)."""
        self.registry.register(_CountedBy(name, documentation, read))

    def watch_lane(self, lane: InteractionLane) -> None:
        """Expose the interaction lane's counts (read when scraped)."""
        self.registry.register(_LaneCollector(lane))

    def before_scrape(self, refresh: Refresh) -> None:
        self._refreshers.append(refresh)

    async def refresh(self) -> None:
        """Bring the gauges read from elsewhere (the database) up to date; called before each scrape."""
        for refresh in self._refreshers:
            await refresh()

    def render(self) -> bytes:
        return generate_latest(self.registry)
