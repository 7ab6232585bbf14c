"""Adapters that reach people outside Slack when they are paged: Twilio (SMS, voice) and SMTP (email)."""
