"""Fake remote systems for tests: local servers that answer like the real ones and check every call."""
