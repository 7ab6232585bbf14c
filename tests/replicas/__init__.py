"""Several `switchman serve` replicas on one PostgreSQL: leadership, takeover, hand-over (§10)."""
