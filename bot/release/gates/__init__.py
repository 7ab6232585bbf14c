"""Readiness gates (§4): each answers pass / fail / warn / error for one release, with evidence."""
