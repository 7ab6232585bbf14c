"""switchman.yml: typed models, the line-aware loader, and the value types it is made of (§9)."""
