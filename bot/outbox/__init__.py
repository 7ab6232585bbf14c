"""The outbox: every message Switchman sends to Slack, stored first and sent in order, paced and retried."""
