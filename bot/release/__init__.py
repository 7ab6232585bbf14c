"""Releases: the deploy and rollback domain."""
