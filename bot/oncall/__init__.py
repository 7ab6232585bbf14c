"""On-call: shadow rotations, shifts, handoffs, pages and escalation (§6)."""
